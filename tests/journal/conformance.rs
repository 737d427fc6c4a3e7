//! The conformance suite: every rule of `CampaignStore` (and the group-commit
//! writer on top of it), as generic functions that `tests/journal.rs` runs
//! against each store, SQLite and PostgreSQL.

use super::*;

pub mod lifecycle {
    use super::*;

    pub fn create_then_reopen_returns_the_same_campaign_and_plan<F: Fixture>() {
        let fixture = F::new();
        let planned = plan(5, &["alice", "bob"]);
        {
            let mut store = fixture.create();
            assert_eq!(store.campaign().unwrap(), None);
            store.create_campaign(&meta(), &planned).unwrap();
        }
        let store = fixture.open();
        assert_eq!(store.campaign().unwrap(), Some(meta()));
        let pending = store.messages_in_state(&[MessageState::Pending]).unwrap();
        let stored: Vec<NewMessage> = pending.iter().map(|m| m.message.clone()).collect();
        assert_eq!(
            stored, planned,
            "every field round-trips, times to the nanosecond"
        );
        assert!(
            pending
                .iter()
                .all(|m| m.attempts == 0 && m.sent_at.is_none())
        );
    }

    pub fn html_bodies_and_row_fields_round_trip<F: Fixture>() {
        let fixture = F::new();
        let mut planned = plan(2, &["alice"]);
        planned[0].html = Some("<p>Hi &amp; welcome</p>".into());
        planned[0].fields = [("name", "Zoë \"Z\""), ("company", "Acme, Inc.")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        fixture.create().create_campaign(&meta(), &planned).unwrap();
        let stored: Vec<NewMessage> = fixture
            .open()
            .messages_in_state(&[MessageState::Pending])
            .unwrap()
            .into_iter()
            .map(|m| m.message)
            .collect();
        assert_eq!(stored, planned);
    }

    pub fn a_campaign_is_created_once<F: Fixture>() {
        let fixture = F::with_plan(1, &["alice"]);
        let mut store = fixture.open();
        let error = store.create_campaign(&meta(), &[]).unwrap_err();
        assert!(
            matches!(error, JournalError::CampaignExists { .. }),
            "{error:?}"
        );
    }

    pub fn a_reader_sees_commits_while_the_writer_holds_the_lock<F: Fixture>() {
        let fixture = F::with_plan(3, &["alice"]);
        let mut writer = fixture.open();
        let reader = fixture.reader();
        assert_eq!(reader.summary().unwrap().counts.pending, 3);
        writer.mark_in_flight(&[0], t(100)).unwrap();
        assert_eq!(reader.summary().unwrap().counts.in_flight, 1);
        writer.record(&[sent(0, t(101))]).unwrap();
        assert_eq!(reader.summary().unwrap().counts.sent, 1);
    }

    pub fn a_read_only_store_refuses_writes<F: Fixture>() {
        let fixture = F::with_plan(1, &["alice"]);
        // The writer that made it let go of its lock.
        assert!(!fixture.lock_held());
        let mut reader = fixture.reader();
        let error = reader.mark_in_flight(&[0], t(1)).unwrap_err();
        assert!(matches!(error, JournalError::ReadOnly { .. }), "{error:?}");
        assert!(!fixture.lock_held(), "readers take no lock");
    }

    pub fn a_failed_creation_rolls_back_and_can_be_retried<F: Fixture>() {
        let fixture = F::new();
        let mut store = fixture.create();
        let error = store
            .create_campaign(&meta(), &[message(1, "alice"), message(1, "alice")])
            .unwrap_err();
        assert!(
            matches!(error, JournalError::DuplicateSeq { seq: 1 }),
            "{error:?}"
        );
        assert_eq!(store.campaign().unwrap(), None);
        store
            .create_campaign(&meta(), &plan(2, &["alice"]))
            .unwrap();
        assert_eq!(states(&store).len(), 2);
        assert_eq!(store.campaign().unwrap(), Some(meta()));
    }

    /// Sequences (issue 13): a message's step, previous step and priority
    /// round-trip, and `previous_steps` tells what became of a step.
    pub fn steps_round_trip_and_previous_steps_tell_what_became_of_them<F: Fixture>() {
        let fixture = F::new();
        let mut store = fixture.create();
        let mut first = message(0, "alice");
        first.sequence.priority = 3;
        let mut follow_up = message(1, "alice");
        follow_up.recipient = first.recipient.clone();
        follow_up.sequence = outreach::journal::SequencePlace {
            step: 2,
            previous: Some(0),
            priority: 3,
        };
        store
            .create_campaign(&meta(), &[first.clone(), follow_up.clone()])
            .unwrap();
        let pending = store.messages_in_state(&[MessageState::Pending]).unwrap();
        assert_eq!(pending[0].message, first);
        assert_eq!(pending[1].message, follow_up);

        store.mark_in_flight(&[0], t(10)).unwrap();
        store.record(&[sent(0, t(20))]).unwrap();
        let found = store.previous_steps(&[0, 1, 99]).unwrap();
        assert_eq!(
            found,
            [
                outreach::journal::PreviousStep {
                    seq: 0,
                    state: MessageState::Sent,
                    sent_at: Some(t(20)),
                },
                outreach::journal::PreviousStep {
                    seq: 1,
                    state: MessageState::Pending,
                    sent_at: None,
                },
            ]
        );
    }

    pub fn adding_messages_needs_a_campaign_and_fresh_seqs<F: Fixture>() {
        let fixture = F::new();
        let mut store = fixture.create();
        let error = store.add_messages(&[message(0, "alice")]).unwrap_err();
        assert!(
            matches!(error, JournalError::NoCampaign { .. }),
            "{error:?}"
        );
        store
            .create_campaign(&meta(), &plan(2, &["alice"]))
            .unwrap();
        let error = store
            .add_messages(&[message(2, "alice"), message(1, "alice")])
            .unwrap_err();
        assert!(
            matches!(error, JournalError::DuplicateSeq { seq: 1 }),
            "{error:?}"
        );
        assert_eq!(states(&store).len(), 2, "the failed call added nothing");
        store.add_messages(&[message(2, "alice")]).unwrap();
        assert_eq!(states(&store).len(), 3);
    }
}

pub mod transitions {
    use super::*;

    pub fn claims_refuse_non_pending_messages<F: Fixture>() {
        let fixture = F::with_plan(3, &["alice"]);
        let mut store = fixture.open();
        assert_eq!(store.mark_in_flight(&[0, 1], t(100)).unwrap(), vec![]);
        let refusals = store.mark_in_flight(&[1, 2, 99], t(101)).unwrap();
        assert_eq!(
            refusals,
            vec![
                Refusal::not_claimable(1, Some(MessageState::InFlight)),
                Refusal::not_claimable(99, None),
            ]
        );
        let in_flight = store.messages_in_state(&[MessageState::InFlight]).unwrap();
        let seen: Vec<(u64, Option<DateTime<Utc>>)> = in_flight
            .iter()
            .map(|m| (m.message.seq, m.last_attempt_at))
            .collect();
        assert_eq!(
            seen,
            vec![(0, Some(t(100))), (1, Some(t(100))), (2, Some(t(101)))]
        );
        assert_eq!(
            refusals[0].into_error().to_string(),
            "message 1 is in_flight, not pending, so it was not claimed for sending"
        );
    }

    pub fn attempts_count_requests_except_those_answered_429<F: Fixture>() {
        let fixture = F::with_plan(1, &["alice"]);
        let mut store = fixture.open();
        let attempt = |at: i64, status: u16| {
            JournalUpdate::Attempt(AttemptRecord {
                seq: 0,
                at: t(at),
                status: Some(status),
                rate_limit: None,
                error: None,
            })
        };
        store.mark_in_flight(&[0], t(100)).unwrap();
        store
            .record(&[
                attempt(100, 429),
                JournalUpdate::Outcome {
                    seq: 0,
                    outcome: Outcome::BackToPending,
                },
            ])
            .unwrap();
        store.mark_in_flight(&[0], t(200)).unwrap();
        // Retries of an in-flight message (502, then a success), recorded out of order.
        store
            .record(&[attempt(260, 201), attempt(200, 502), sent(0, t(261))])
            .unwrap();
        let sent = &store.messages_in_state(&[MessageState::Sent]).unwrap()[0];
        assert_eq!(sent.attempts, 2);
        assert_eq!(sent.last_status, Some(502), "the last recorded status");
        assert_eq!(sent.last_attempt_at, Some(t(260)), "the latest attempt");
        assert_eq!(
            store.attempts(0).unwrap().len(),
            3,
            "the 429 stays in the history"
        );
        assert_eq!(store.summary().unwrap().accounts[0].throttled, 1);
    }

    pub fn outcomes_move_in_flight_messages<F: Fixture>() {
        let fixture = F::with_plan(4, &["alice"]);
        let mut store = fixture.open();
        store.mark_in_flight(&[0, 1, 2, 3], t(100)).unwrap();
        store
            .record(&[
                sent(0, t(101)),
                JournalUpdate::Outcome {
                    seq: 1,
                    outcome: Outcome::Failed {
                        reason: "HTTP 400: bad recipient".into(),
                        status: Some(400),
                    },
                },
                JournalUpdate::Outcome {
                    seq: 2,
                    outcome: Outcome::BackToPending,
                },
                JournalUpdate::Outcome {
                    seq: 3,
                    outcome: Outcome::Uncertain {
                        reason: "timed out".into(),
                    },
                },
            ])
            .unwrap();
        use MessageState::*;
        assert_eq!(
            states(&store),
            vec![(0, Sent), (1, Failed), (2, Pending), (3, Uncertain)]
        );
        let all = store
            .messages_in_state(&[Sent, Failed, Pending, Uncertain])
            .unwrap();
        assert_eq!(all[0].sent_at, Some(t(101)));
        assert_eq!(all[0].api_message_id.as_deref(), Some("api-0"));
        assert_eq!(all[1].last_status, Some(400));
        assert_eq!(
            all[1].failure_reason.as_deref(),
            Some("HTTP 400: bad recipient")
        );
        assert_eq!(all[3].failure_reason.as_deref(), Some("timed out"));
        // Back to pending: claimable again.
        assert_eq!(store.mark_in_flight(&[2], t(200)).unwrap(), vec![]);
    }

    pub fn an_outcome_for_a_message_not_in_flight_fails_the_whole_batch<F: Fixture>() {
        let fixture = F::with_plan(2, &["alice"]);
        let mut store = fixture.open();
        store.mark_in_flight(&[0], t(100)).unwrap();
        let error = store
            .record(&[sent(0, t(101)), sent(1, t(102))])
            .unwrap_err();
        assert!(
            matches!(
                error,
                JournalError::NotInFlight {
                    seq: 1,
                    state: Some(MessageState::Pending)
                }
            ),
            "{error:?}"
        );
        use MessageState::*;
        assert_eq!(
            states(&store),
            vec![(0, InFlight), (1, Pending)],
            "rolled back"
        );
        let error = store.record(&[sent(7, t(1))]).unwrap_err();
        assert!(
            matches!(error, JournalError::UnknownSeq { seq: 7 }),
            "{error:?}"
        );
    }

    pub fn recovery_makes_in_flight_messages_uncertain<F: Fixture>() {
        let fixture = F::with_plan(4, &["alice"]);
        {
            let mut store = fixture.open();
            store.mark_in_flight(&[1, 2, 3], t(100)).unwrap();
            store.record(&[sent(3, t(101))]).unwrap();
        }
        let mut store = fixture.open();
        assert_eq!(store.recover_in_flight().unwrap(), 2);
        assert_eq!(store.recover_in_flight().unwrap(), 0);
        let uncertain = store.messages_in_state(&[MessageState::Uncertain]).unwrap();
        assert_eq!(
            uncertain.iter().map(|m| m.message.seq).collect::<Vec<_>>(),
            vec![1, 2]
        );
        assert_eq!(
            uncertain[0].failure_reason.as_deref(),
            Some(INTERRUPTED_REASON)
        );
    }

    pub fn manual_state_changes_never_touch_sent_messages<F: Fixture>() {
        let fixture = F::with_plan(4, &["alice"]);
        let mut store = fixture.open();
        store.mark_in_flight(&[0, 1, 2], t(100)).unwrap();
        store
            .record(&[
                sent(0, t(101)),
                JournalUpdate::Outcome {
                    seq: 1,
                    outcome: Outcome::Failed {
                        reason: "HTTP 500".into(),
                        status: Some(500),
                    },
                },
            ])
            .unwrap();
        store.recover_in_flight().unwrap();
        use MessageState::*;
        let error = store.set_state_where(Sent, Pending).unwrap_err();
        assert!(
            matches!(error, JournalError::InvalidTransition { .. }),
            "{error:?}"
        );
        assert_eq!(store.set_state_where(Failed, Pending).unwrap(), 1);
        assert_eq!(store.set_state_where(Uncertain, Pending).unwrap(), 1);
        assert_eq!(
            states(&store),
            vec![(0, Sent), (1, Pending), (2, Pending), (3, Pending)]
        );
        let retried = store.messages_in_state(&[Pending]).unwrap();
        assert_eq!(
            retried[0].failure_reason, None,
            "cleared on the way back to pending"
        );
        assert_eq!(retried[0].last_status, Some(500), "history stays");
    }

    pub fn a_start_now_shift_moves_only_pending_messages<F: Fixture>() {
        let fixture = F::with_plan(3, &["alice"]);
        let mut store = fixture.open();
        store.mark_in_flight(&[0], t(1)).unwrap();
        store.record(&[sent(0, t(2))]).unwrap();
        assert_eq!(
            store.shift_pending(chrono::TimeDelta::seconds(7)).unwrap(),
            2
        );
        let planned = |store: &F::Store| {
            let mut all = Vec::new();
            store
                .report_rows(&mut |row| {
                    all.push((row.seq, row.planned_at));
                    Ok(())
                })
                .unwrap();
            all
        };
        assert_eq!(
            planned(&store),
            vec![(0, t(0)), (1, t(17)), (2, t(27))],
            "the sent message keeps the time it was planned for"
        );
    }

    pub fn skipping_refuses_sent_messages_and_is_idempotent<F: Fixture>() {
        let fixture = F::with_plan(4, &["alice"]);
        let mut store = fixture.open();
        store.mark_in_flight(&[0], t(100)).unwrap();
        store.record(&[sent(0, t(101))]).unwrap();
        let error = store.skip_messages(&[1, 0]).unwrap_err();
        assert!(
            matches!(
                error,
                JournalError::InvalidTransition {
                    from: MessageState::Sent,
                    to: MessageState::Skipped
                }
            ),
            "{error:?}"
        );
        assert_eq!(store.summary().unwrap().counts.skipped, 0, "rolled back");
        assert_eq!(store.skip_messages(&[1, 2]).unwrap(), 2);
        assert_eq!(store.skip_messages(&[2]).unwrap(), 0);
        assert!(matches!(
            store.skip_messages(&[42]),
            Err(JournalError::UnknownSeq { seq: 42 })
        ));
    }

    pub fn a_skip_records_its_reason_before_an_earlier_failure<F: Fixture>() {
        let fixture = F::with_plan(3, &["alice"]);
        let mut store = fixture.open();
        store.mark_in_flight(&[1], t(100)).unwrap();
        store
            .record(&[JournalUpdate::Outcome {
                seq: 1,
                outcome: Outcome::Failed {
                    reason: "400 Bad Request".into(),
                    status: Some(400),
                },
            }])
            .unwrap();
        let skips = [
            (0, "row edited (line 2)".to_string()),
            (1, "row removed (was line 3)".to_string()),
        ];
        assert_eq!(store.skip_with_reasons(&skips).unwrap(), 2);
        let mut reasons = Vec::new();
        store
            .report_rows(&mut |row| {
                reasons.push((row.seq, row.state, row.failure_reason));
                Ok(())
            })
            .unwrap();
        assert_eq!(
            reasons,
            [
                (0, MessageState::Skipped, Some("row edited (line 2)".into())),
                (
                    1,
                    MessageState::Skipped,
                    Some("row removed (was line 3) (before: 400 Bad Request)".into())
                ),
                (2, MessageState::Pending, None),
            ]
        );
    }

    pub fn rerender_changes_only_pending_messages<F: Fixture>() {
        let fixture = F::with_plan(3, &["alice"]);
        let mut store = fixture.open();
        store.mark_in_flight(&[0], t(100)).unwrap();
        store.record(&[sent(0, t(101))]).unwrap();
        let update = |seq: u64| Rerender {
            seq,
            line: 9,
            subject: Some("New".into()),
            body: "New body".into(),
            idempotency_key: format!("new-{seq}"),
            row_digest: "d".repeat(64),
            timezone: Some("Europe/Berlin".into()),
            html: None,
            fields: Default::default(),
        };
        let error = store.rerender(&[update(1), update(0)]).unwrap_err();
        assert!(
            matches!(
                error,
                JournalError::NotPending {
                    seq: 0,
                    state: Some(MessageState::Sent)
                }
            ),
            "{error:?}"
        );
        let pending = store.messages_in_state(&[MessageState::Pending]).unwrap();
        assert_eq!(pending[0].message, message(1, "alice"), "rolled back");
        store.rerender(&[update(1)]).unwrap();
        let pending = store.messages_in_state(&[MessageState::Pending]).unwrap();
        let changed = &pending[0].message;
        assert_eq!(
            (
                changed.line,
                changed.subject.as_deref(),
                changed.body.as_str(),
                changed.idempotency_key.as_str(),
                changed.timezone.as_deref(),
            ),
            (9, Some("New"), "New body", "new-1", Some("Europe/Berlin"))
        );
        assert_eq!(changed.recipient, message(1, "alice").recipient);
        assert_eq!(pending[1].message, message(2, "alice"));
    }

    pub fn sends_since_counts_sent_in_flight_and_uncertain_messages_of_one_account<F: Fixture>() {
        let fixture = F::with_plan(8, &["alice", "bob"]);
        let mut store = fixture.open();
        // alice: 0, 2, 4, 6; bob: 1, 3, 5, 7.
        store.mark_in_flight(&[0, 2, 4, 6, 1], t(100)).unwrap();
        store
            .record(&[
                sent(0, t(50)),
                sent(2, t(150)),
                sent(1, t(160)),
                JournalUpdate::Outcome {
                    seq: 4,
                    outcome: Outcome::Uncertain {
                        reason: "timeout".into(),
                    },
                },
            ])
            .unwrap();
        store.mark_in_flight(&[3], t(170)).unwrap();
        store
            .record(&[JournalUpdate::Outcome {
                seq: 3,
                outcome: Outcome::BackToPending,
            }])
            .unwrap();
        // alice: sent at 50 (too early) and 150; 4 uncertain and 6 in flight since 100.
        assert_eq!(
            store.sends_since("alice", t(60), usize::MAX).unwrap(),
            vec![t(100), t(100), t(150)]
        );
        assert_eq!(
            store.sends_since("alice", t(120), usize::MAX).unwrap(),
            vec![t(150)]
        );
        // bob: 1 sent; 3 went back to pending, so the server did not count it.
        assert_eq!(
            store.sends_since("bob", t(0), usize::MAX).unwrap(),
            vec![t(160)]
        );
        assert!(
            store
                .sends_since("carol", t(0), usize::MAX)
                .unwrap()
                .is_empty()
        );
        // Only the latest ones, still oldest first.
        assert_eq!(
            store.sends_since("alice", t(60), 2).unwrap(),
            vec![t(100), t(150)]
        );
        assert_eq!(store.sends_since("alice", t(0), 1).unwrap(), vec![t(150)]);
    }
}

pub mod reading {
    use super::*;

    fn attempt(seq: u64, at: DateTime<Utc>, status: u16, remaining: Option<u32>) -> JournalUpdate {
        JournalUpdate::Attempt(AttemptRecord {
            seq,
            at,
            status: Some(status),
            rate_limit: remaining.map(|remaining| RateLimitSnapshot {
                limit: Some(50),
                remaining: Some(remaining),
                reset_at: Some(t(3600)),
            }),
            error: (status >= 400).then(|| format!("HTTP {status}")),
        })
    }

    /// alice: 0 sent, 2 throttled then sent, 4 failed, 6 pending.
    /// bob: 1 sent, 3 uncertain, 5 skipped, 7 pending.
    fn busy_journal<F: Fixture>() -> (F, F::Store) {
        let fixture = F::with_plan(8, &["alice", "bob"]);
        let mut store = fixture.open();
        store.mark_in_flight(&[0, 1, 2, 3, 4], t(100)).unwrap();
        store
            .record(&[
                attempt(0, t(100), 201, Some(40)),
                sent(0, t(101)),
                attempt(1, t(100), 201, None),
                sent(1, t(102)),
                attempt(2, t(100), 429, Some(0)),
                JournalUpdate::Outcome {
                    seq: 2,
                    outcome: Outcome::BackToPending,
                },
                JournalUpdate::Outcome {
                    seq: 3,
                    outcome: Outcome::Uncertain {
                        reason: "connection reset".into(),
                    },
                },
                attempt(4, t(100), 400, None),
                JournalUpdate::Outcome {
                    seq: 4,
                    outcome: Outcome::Failed {
                        reason: "HTTP 400: invalid recipient".into(),
                        status: Some(400),
                    },
                },
            ])
            .unwrap();
        store.mark_in_flight(&[2], t(200)).unwrap();
        store
            .record(&[attempt(2, t(200), 201, Some(39)), sent(2, t(201))])
            .unwrap();
        store.skip_messages(&[5]).unwrap();
        (fixture, store)
    }

    pub fn summary_counts_states_and_keeps_each_accounts_latest_word<F: Fixture>() {
        let (_fixture, store) = busy_journal::<F>();
        let summary = store.summary().unwrap();
        let counts = |pending, sent, failed, uncertain, skipped| StateCounts {
            total: pending + sent + failed + uncertain + skipped,
            pending,
            in_flight: 0,
            sent,
            failed,
            uncertain,
            skipped,
        };
        assert_eq!(summary.counts, counts(2, 3, 1, 1, 1));
        assert_eq!(
            summary.accounts,
            vec![
                AccountSummary {
                    account: "alice".into(),
                    counts: counts(1, 2, 1, 0, 0),
                    throttled: 1,
                    rate_limit: Some(RateLimitSnapshot {
                        limit: Some(50),
                        remaining: Some(39),
                        reset_at: Some(t(3600)),
                    }),
                    rate_limit_at: Some(t(200)),
                    last_error: Some("HTTP 400: invalid recipient".into()),
                    next_planned: Some(t(60)),
                    last_sent: Some(t(201)),
                },
                AccountSummary {
                    account: "bob".into(),
                    counts: counts(1, 1, 0, 1, 1),
                    throttled: 0,
                    rate_limit: None,
                    rate_limit_at: None,
                    last_error: Some("connection reset".into()),
                    next_planned: Some(t(70)),
                    last_sent: Some(t(102)),
                },
            ]
        );
    }

    pub fn report_rows_stream_every_message_in_seq_order<F: Fixture>() {
        let (_fixture, store) = busy_journal::<F>();
        let mut rows = Vec::new();
        store
            .report_rows(&mut |row| {
                rows.push(row);
                Ok(())
            })
            .unwrap();
        assert_eq!(rows.len(), 8);
        assert_eq!(
            rows[2],
            ReportRow {
                seq: 2,
                line: 4,
                recipient: "person-2@example.com".into(),
                step: Some(1),
                account: "alice".into(),
                state: MessageState::Sent,
                attempts: 1, // the 429 does not count
                last_status: Some(201),
                planned_at: t(20),
                sent_at: Some(t(201)),
                api_message_id: Some("api-2".into()),
                failure_reason: None,
            }
        );
        assert_eq!(
            rows[4].failure_reason.as_deref(),
            Some("HTTP 400: invalid recipient")
        );
        assert_eq!(rows[4].last_status, Some(400));
        let json = serde_json::to_value(&rows[3]).unwrap();
        assert_eq!(json["state"], "uncertain");
    }

    pub fn a_failing_callback_stops_the_stream_with_its_error<F: Fixture>() {
        let (_fixture, store) = busy_journal::<F>();
        let mut seen = 0;
        let error = store
            .report_rows(&mut |_| {
                seen += 1;
                Err(JournalError::sink(std::io::Error::other("broken pipe")))
            })
            .unwrap_err();
        assert_eq!(seen, 1);
        let source = std::error::Error::source(&error).unwrap();
        assert_eq!(source.to_string(), "broken pipe");
    }

    pub fn row_digests_and_attempt_history<F: Fixture>() {
        let (_fixture, store) = busy_journal::<F>();
        let mut digests = Vec::new();
        store
            .row_digests(&mut |digest| {
                digests.push(digest);
                Ok(())
            })
            .unwrap();
        assert_eq!(
            digests[5],
            RowDigest {
                seq: 5,
                line: 7,
                recipient: "person-5@example.com".into(),
                row_digest: format!("{:064x}", 5),
                state: MessageState::Skipped,
            }
        );
        let history = store.attempts(2).unwrap();
        assert_eq!(
            history.iter().map(|a| (a.at, a.status)).collect::<Vec<_>>(),
            vec![(t(100), Some(429)), (t(200), Some(201))]
        );
        assert_eq!(store.attempts(1).unwrap()[0].rate_limit, None);
        assert_eq!(store.attempts(6).unwrap(), vec![]);
    }

    pub fn messages_in_several_states_come_in_seq_order<F: Fixture>() {
        let (_fixture, store) = busy_journal::<F>();
        use MessageState::*;
        let picked = store
            .messages_in_state(&[Uncertain, Pending, Pending])
            .unwrap();
        assert_eq!(
            picked
                .iter()
                .map(|m| (m.message.seq, m.state))
                .collect::<Vec<_>>(),
            vec![(3, Uncertain), (6, Pending), (7, Pending)]
        );
        assert_eq!(store.messages_in_state(&[]).unwrap(), vec![]);
    }

    pub fn many_messages_are_read_in_two_halves_and_come_back_whole_and_in_order<F: Fixture>() {
        // Above 50,000 matches the scan is split between two connections.
        let fixture = F::with_plan(70_001, &["alice", "bob"]);
        let mut store = fixture.open();
        let claimed: Vec<u64> = (0..5_000).chain([40_000]).collect();
        store.mark_in_flight(&claimed, t(10)).unwrap();
        let pending = store.messages_in_state(&[MessageState::Pending]).unwrap();
        let expected: Vec<u64> = (5_000..=70_000).filter(|seq| *seq != 40_000).collect();
        let seqs: Vec<u64> = pending.iter().map(|m| m.message.seq).collect();
        assert_eq!(seqs, expected);
        assert!(pending.iter().all(|m| m.state == MessageState::Pending));
        let in_flight = store.messages_in_state(&[MessageState::InFlight]).unwrap();
        assert_eq!(in_flight.len(), claimed.len());
    }
}

pub mod writer {
    use std::future::Future;
    use std::pin::Pin;
    use std::sync::mpsc;
    use std::task::{Context, Poll, Waker};
    use std::time::Duration;

    use super::*;

    /// A store that holds its first `record` until the test opens the gate,
    /// so requests pile up behind it deterministically. It also shows that a
    /// store other than the two plugs into the writer.
    struct GatedStore<S> {
        inner: S,
        entered: Option<mpsc::Sender<()>>,
        gate: Option<mpsc::Receiver<()>>,
    }

    impl<S> GatedStore<S> {
        /// The store, the signal that its first `record` began, and the
        /// gate that lets it go on.
        fn new(inner: S) -> (GatedStore<S>, mpsc::Receiver<()>, mpsc::Sender<()>) {
            let (entered_tx, entered) = mpsc::channel();
            let (open_gate, gate) = mpsc::channel();
            let store = GatedStore {
                inner,
                entered: Some(entered_tx),
                gate: Some(gate),
            };
            (store, entered, open_gate)
        }
    }

    impl<S: CampaignStore> CampaignStore for GatedStore<S> {
        fn record(&mut self, batch: &[JournalUpdate]) -> Result<Vec<Refusal>, JournalError> {
            if let (Some(entered), Some(gate)) = (self.entered.take(), self.gate.take()) {
                entered.send(()).unwrap();
                gate.recv().unwrap();
            }
            self.inner.record(batch)
        }
        fn create_campaign(
            &mut self,
            m: &CampaignMeta,
            n: &[NewMessage],
        ) -> Result<(), JournalError> {
            self.inner.create_campaign(m, n)
        }
        fn campaign(&self) -> Result<Option<CampaignMeta>, JournalError> {
            self.inner.campaign()
        }
        fn messages_in_state(
            &self,
            s: &[MessageState],
        ) -> Result<Vec<StoredMessage>, JournalError> {
            self.inner.messages_in_state(s)
        }
        fn row_digests(
            &self,
            f: &mut dyn FnMut(RowDigest) -> Result<(), JournalError>,
        ) -> Result<(), JournalError> {
            self.inner.row_digests(f)
        }
        fn recover_in_flight(&mut self) -> Result<u64, JournalError> {
            self.inner.recover_in_flight()
        }
        fn sends_since(
            &self,
            a: &str,
            s: DateTime<Utc>,
            n: usize,
        ) -> Result<Vec<DateTime<Utc>>, JournalError> {
            self.inner.sends_since(a, s, n)
        }
        fn previous_steps(
            &self,
            seqs: &[u64],
        ) -> Result<Vec<outreach::journal::PreviousStep>, JournalError> {
            self.inner.previous_steps(seqs)
        }
        fn set_state_where(
            &mut self,
            f: MessageState,
            t: MessageState,
        ) -> Result<u64, JournalError> {
            self.inner.set_state_where(f, t)
        }
        fn shift_pending(&mut self, by: chrono::TimeDelta) -> Result<u64, JournalError> {
            self.inner.shift_pending(by)
        }
        fn add_messages(&mut self, m: &[NewMessage]) -> Result<(), JournalError> {
            self.inner.add_messages(m)
        }
        fn skip_messages(&mut self, s: &[u64]) -> Result<u64, JournalError> {
            self.inner.skip_messages(s)
        }
        fn skip_with_reasons(&mut self, s: &[(u64, String)]) -> Result<u64, JournalError> {
            self.inner.skip_with_reasons(s)
        }
        fn rerender(&mut self, u: &[Rerender]) -> Result<(), JournalError> {
            self.inner.rerender(u)
        }
        fn summary(&self) -> Result<StatusSummary, JournalError> {
            self.inner.summary()
        }
        fn report_rows(
            &self,
            f: &mut dyn FnMut(ReportRow) -> Result<(), JournalError>,
        ) -> Result<(), JournalError> {
            self.inner.report_rows(f)
        }
        fn attempts(&self, seq: u64) -> Result<Vec<AttemptRecord>, JournalError> {
            self.inner.attempts(seq)
        }
    }

    type Claim<'a> = Pin<Box<dyn Future<Output = Result<(), JournalError>> + Send + 'a>>;

    /// Polls once, which queues the request; the answer cannot be there yet.
    fn queue(claim: &mut Claim<'_>) {
        let mut cx = Context::from_waker(Waker::noop());
        assert!(matches!(claim.as_mut().poll(&mut cx), Poll::Pending));
    }

    pub async fn concurrent_claims_share_one_commit<F: Fixture>() {
        let fixture = F::with_plan(100, &["alice", "bob"]);
        let (store, entered, open_gate) = GatedStore::new(fixture.open());
        let journal = JournalHandle::spawn(store).unwrap();
        let mut first: Claim<'_> = Box::pin(journal.begin_send(0, t(1)));
        queue(&mut first);
        entered.recv().unwrap(); // the writer is now inside the first commit
        let mut rest: Vec<Claim<'_>> = (1..100)
            .map(|seq| Box::pin(journal.begin_send(seq, t(2))) as Claim<'_>)
            .collect();
        rest.iter_mut().for_each(queue);
        open_gate.send(()).unwrap();
        first.await.unwrap();
        for claim in rest {
            claim.await.unwrap();
        }
        assert_eq!(
            journal.stats(),
            WriterStats {
                commits: 2,
                claims: 100,
                updates: 0
            },
            "the 99 queued claims went into one transaction"
        );
        journal.close().await.unwrap();
        let store = fixture.open();
        assert_eq!(store.summary().unwrap().counts.in_flight, 100);
    }

    pub async fn eight_senders_record_every_message_durably<F: Fixture>() {
        let fixture = F::with_plan(2000, &["alice", "bob"]);
        let journal = JournalHandle::spawn(fixture.open()).unwrap();
        let mut senders = Vec::new();
        for sender in 0..8u64 {
            let journal = journal.clone();
            senders.push(tokio::spawn(async move {
                for seq in (sender..2000).step_by(8) {
                    journal.begin_send(seq, t(seq as i64)).await?;
                    journal.record(JournalUpdate::Attempt(AttemptRecord {
                        seq,
                        at: t(seq as i64),
                        status: Some(201),
                        rate_limit: None,
                        error: None,
                    }));
                    journal.record(sent(seq, t(seq as i64 + 1)));
                }
                Ok::<_, JournalError>(())
            }));
        }
        for sender in senders {
            sender.await.unwrap().unwrap();
        }
        journal.flush().await.unwrap();
        let stats = journal.stats();
        assert_eq!((stats.claims, stats.updates), (2000, 4000));
        assert!(
            stats.commits <= 4000,
            "at most one commit per claim and its updates: {stats:?}"
        );
        // Flushed means visible to (and durable for) any other reader.
        let reader = fixture.reader();
        assert_eq!(reader.summary().unwrap().counts.sent, 2000);
        journal.close().await.unwrap();
    }

    pub async fn a_claim_is_committed_before_begin_send_returns<F: Fixture>() {
        let fixture = F::with_plan(2, &["alice"]);
        let journal = JournalHandle::spawn(fixture.open()).unwrap();
        let reader = fixture.reader();
        journal.begin_send(1, t(5)).await.unwrap();
        let in_flight = reader.messages_in_state(&[MessageState::InFlight]).unwrap();
        assert_eq!(in_flight.len(), 1);
        assert_eq!(in_flight[0].last_attempt_at, Some(t(5)));
        let error = journal.begin_send(1, t(6)).await.unwrap_err();
        assert!(
            matches!(error, JournalError::NotClaimable { seq: 1, .. }),
            "{error:?}"
        );
        journal
            .begin_send(0, t(7))
            .await
            .expect("a refusal does not stop the writer");
        journal.close().await.unwrap();
    }

    pub async fn claims_queued_together_are_durable_together_and_a_given_back_claim_can_be_retaken<
        F: Fixture,
    >() {
        let fixture = F::with_plan(4, &["alice"]);
        let journal = JournalHandle::spawn(fixture.open()).unwrap();
        let reader = fixture.reader();
        let results = journal
            .begin_send_many(&[(0, t(5)), (1, t(9)), (2, t(9))])
            .await;
        assert!(results.iter().all(Result::is_ok), "{results:?}");
        let in_flight = |reader: &F::Store| -> Vec<u64> {
            reader
                .messages_in_state(&[MessageState::InFlight])
                .unwrap()
                .iter()
                .map(|m| m.message.seq)
                .collect()
        };
        assert_eq!(in_flight(&reader), vec![0, 1, 2]);
        // 1 and 2 are given back (their turn moved) and 1 is claimed again,
        // with 3, in the same queue: the claim applies after the release.
        for seq in [1, 2] {
            journal.record(JournalUpdate::Outcome {
                seq,
                outcome: Outcome::BackToPending,
            });
        }
        let results = journal.begin_send_many(&[(1, t(20)), (3, t(20))]).await;
        assert!(results.iter().all(Result::is_ok), "{results:?}");
        assert_eq!(in_flight(&reader), vec![0, 1, 3]);
        let pending = reader.messages_in_state(&[MessageState::Pending]).unwrap();
        assert_eq!(
            pending.iter().map(|m| m.message.seq).collect::<Vec<_>>(),
            vec![2]
        );
        // A message that is not pending is refused alone.
        let results = journal.begin_send_many(&[(2, t(30)), (3, t(30))]).await;
        assert!(results[0].is_ok());
        assert!(
            matches!(results[1], Err(JournalError::NotClaimable { seq: 3, .. })),
            "{results:?}"
        );
        journal.close().await.unwrap();
    }

    pub async fn a_write_error_stops_sending_but_keeps_good_outcomes<F: Fixture>() {
        let fixture = F::with_plan(4, &["alice"]);
        let journal = JournalHandle::spawn(fixture.open()).unwrap();
        journal.begin_send(0, t(1)).await.unwrap();
        journal.begin_send(1, t(1)).await.unwrap();
        journal.record(sent(0, t(2)));
        journal.record(sent(3, t(2))); // a bug: 3 was never claimed
        journal.record(sent(1, t(3)));
        let error = journal.flush().await.unwrap_err();
        let JournalError::WriterFailed(cause) = &error else {
            panic!("expected WriterFailed, got {error:?}");
        };
        assert!(
            matches!(**cause, JournalError::NotInFlight { seq: 3, .. }),
            "{cause:?}"
        );
        let refused = journal.begin_send(2, t(4)).await.unwrap_err();
        assert!(
            matches!(refused, JournalError::WriterFailed(_)),
            "{refused:?}"
        );
        assert!(journal.failure().is_some());
        assert!(matches!(
            journal.close().await,
            Err(JournalError::WriterFailed(_))
        ));
        let store = fixture.open();
        use MessageState::*;
        assert_eq!(
            states(&store),
            vec![(0, Sent), (1, Sent), (2, Pending), (3, Pending)],
            "the good outcomes of the failed batch were salvaged; nothing was claimed after it"
        );
    }

    /// A writer made busy: the claim of 0 is held in its commit while
    /// three attempts and its outcome are recorded, so they are waiting
    /// when the commit returns.
    fn busy_writer<F: Fixture>(
        fixture: &F,
        linger: Duration,
    ) -> (JournalHandle, mpsc::Sender<()>, Claim<'static>) {
        let (store, entered, open_gate) = GatedStore::new(fixture.open());
        let journal = JournalHandle::spawn_with_linger(store, linger).unwrap();
        let claimer = journal.clone();
        let mut claims: Claim<'static> = Box::pin(async move { claimer.begin_send(0, t(1)).await });
        queue(&mut claims);
        entered.recv().unwrap(); // the writer is inside the claims' commit
        for status in [503, 502, 500] {
            journal.record(JournalUpdate::Attempt(AttemptRecord {
                seq: 0,
                at: t(1),
                status: Some(status),
                rate_limit: None,
                error: None,
            }));
        }
        journal.record(sent(0, t(2)));
        (journal, open_gate, claims)
    }

    /// While busy, attempts and outcomes wait for company (a whole minute
    /// here), yet a claim, a flush or a close takes them along at once; an
    /// idle writer commits an outcome at once.
    pub async fn outcomes_wait_for_company_but_never_hold_up_a_claim<F: Fixture>() {
        let fixture = F::with_plan(2, &["alice"]);
        let (journal, open_gate, claim) = busy_writer(&fixture, Duration::from_secs(60));
        let reader = fixture.reader();
        open_gate.send(()).unwrap();
        claim.await.unwrap();
        tokio::time::sleep(Duration::from_millis(40)).await;
        assert_eq!(journal.stats().commits, 1, "the outcome waits");
        assert_eq!(reader.summary().unwrap().counts.sent, 0);

        let started = std::time::Instant::now();
        journal.begin_send(1, t(4)).await.unwrap();
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "a claim ends the wait: {:?}",
            started.elapsed()
        );
        let stats = journal.stats();
        assert_eq!(
            (stats.commits, stats.claims, stats.updates),
            (2, 2, 4),
            "the attempts and the outcome rode along with the claim's commit"
        );
        assert_eq!(reader.summary().unwrap().counts.sent, 1);

        // Idle again (nothing came in during that commit): an outcome
        // commits at once, the minute notwithstanding.
        journal.record(sent(1, t(5)));
        let started = std::time::Instant::now();
        while reader.summary().unwrap().counts.sent < 2 {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "an idle writer held the outcome back"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }

        journal.close().await.unwrap();

        // A flush, and a close, end the wait too.
        for ending in ["flush", "close"] {
            let fixture = F::with_plan(1, &["alice"]);
            let (journal, open_gate, claim) = busy_writer(&fixture, Duration::from_secs(60));
            open_gate.send(()).unwrap();
            claim.await.unwrap();
            let started = std::time::Instant::now();
            if ending == "flush" {
                journal.flush().await.unwrap();
                assert_eq!(fixture.reader().summary().unwrap().counts.sent, 1);
                journal.close().await.unwrap();
            } else {
                journal.close().await.unwrap();
                assert_eq!(fixture.open().summary().unwrap().counts.sent, 1);
            }
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "a {ending} ends the wait"
            );
        }
    }

    /// With nothing else coming, a busy writer's outcome commits on its own
    /// once the wait is over: nobody has to flush.
    pub async fn an_outcome_alone_commits_when_the_wait_is_over<F: Fixture>() {
        let fixture = F::with_plan(2, &["alice"]);
        let linger = Duration::from_millis(50);
        let (journal, open_gate, claim) = busy_writer(&fixture, linger);
        let reader = fixture.reader();
        let started = std::time::Instant::now();
        open_gate.send(()).unwrap();
        claim.await.unwrap();
        while reader.summary().unwrap().counts.sent == 0 {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "the outcome was never committed"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert!(
            started.elapsed() >= linger,
            "it waited: {:?}",
            started.elapsed()
        );
        assert_eq!(journal.stats().commits, 2);
        journal.close().await.unwrap();
    }

    pub async fn close_releases_the_lock_and_later_calls_fail<F: Fixture>() {
        let fixture = F::with_plan(2, &["alice"]);
        let journal = JournalHandle::spawn(fixture.open()).unwrap();
        let other = journal.clone();
        journal.begin_send(0, t(1)).await.unwrap();
        journal.record(sent(0, t(2)));
        journal.close().await.unwrap();
        let store = fixture.open(); // the lock is free
        assert_eq!(store.summary().unwrap().counts.sent, 1);
        let error = other.begin_send(1, t(3)).await.unwrap_err();
        assert!(
            matches!(error, JournalError::WriterClosed { .. }),
            "{error:?}"
        );
        other.record(sent(1, t(4)));
        let error = other.flush().await.unwrap_err();
        assert_eq!(
            error.to_string(),
            "the journal writer has stopped; 1 update(s) could not be recorded"
        );
    }
}

pub mod scale {
    use super::*;

    pub fn a_hundred_thousand_messages<F: Fixture>() {
        let fixture = F::new();
        let mut store = fixture.create();
        store
            .create_campaign(&meta(), &plan(100_000, &["alice", "bob", "carol"]))
            .unwrap();
        let seqs: Vec<u64> = (0..50_000).collect();
        store.mark_in_flight(&seqs, t(1)).unwrap();
        let outcomes: Vec<JournalUpdate> = seqs.iter().map(|&seq| sent(seq, t(2))).collect();
        store.record(&outcomes).unwrap();
        let summary = store.summary().unwrap();
        assert_eq!(summary.counts.total, 100_000);
        assert_eq!(summary.counts.sent, 50_000);
        assert_eq!(summary.counts.pending, 50_000);
        assert_eq!(summary.accounts.len(), 3);
        assert_eq!(
            summary.accounts.iter().map(|a| a.counts.total).sum::<u64>(),
            100_000
        );
        // Many matches: one pass over the table.
        let pending = store.messages_in_state(&[MessageState::Pending]).unwrap();
        assert_eq!(pending.len(), 50_000);
        assert!(
            pending
                .windows(2)
                .all(|w| w[0].message.seq < w[1].message.seq)
        );
        // Few matches: through the index (which lists them by account), still in seq order.
        let claimed: Vec<u64> = (60_000..60_012).rev().collect();
        store.mark_in_flight(&claimed, t(3)).unwrap();
        let in_flight = store.messages_in_state(&[MessageState::InFlight]).unwrap();
        let seqs: Vec<u64> = in_flight.iter().map(|m| m.message.seq).collect();
        assert_eq!(seqs, (60_000..60_012).collect::<Vec<_>>());
    }
}
