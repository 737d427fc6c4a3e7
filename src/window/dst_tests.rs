//! `next_open` where local time is hard: clocks springing forward over an
//! opening or a whole window, falling back through one, a gap at midnight,
//! and a day removed from the calendar. Each case pins the rules in the
//! module docs of `window` to exact instants.

use chrono::{DateTime, Utc};
use chrono_tz::America::New_York;
use chrono_tz::Europe::Berlin;

use super::WindowSet;

fn set(text: &str) -> WindowSet {
    text.parse().unwrap()
}

fn utc(text: &str) -> DateTime<Utc> {
    text.parse().unwrap()
}

// New York springs forward on 2024-03-10: 02:00 EST (07:00 UTC) becomes
// 03:00 EDT, so local 02:00-02:59 does not exist that day.
#[test]
fn new_york_spring_forward_opens_after_the_gap() {
    let windows = set("daily 02:30-04:00");
    // 01:00 EST: the 02:30 opening does not exist; it opens at 03:00 EDT.
    let t = utc("2024-03-10T06:00:00Z");
    assert_eq!(windows.next_open(t, &New_York), utc("2024-03-10T07:00:00Z"));
    assert!(!windows.contains(utc("2024-03-10T06:59:59Z"), &New_York));
    assert!(windows.contains(utc("2024-03-10T07:00:00Z"), &New_York));
    // It closes at 04:00 EDT = 08:00 UTC.
    assert!(!windows.contains(utc("2024-03-10T08:00:00Z"), &New_York));
    // The next day it opens at 02:30 EDT again.
    assert_eq!(
        windows.next_open(utc("2024-03-10T08:00:00Z"), &New_York),
        utc("2024-03-11T06:30:00Z")
    );
}

#[test]
fn new_york_window_inside_the_gap_skips_the_day() {
    // 02:10-02:50 never happens on 2024-03-10 (a Sunday); the next one
    // is a week later at 02:10 EDT.
    let windows = set("sun 02:10-02:50");
    assert_eq!(
        windows.next_open(utc("2024-03-10T05:00:00Z"), &New_York),
        utc("2024-03-17T06:10:00Z")
    );
    // A window closing inside the gap closes when the gap ends.
    let overnight = set("sat 23:00-02:30");
    assert!(overnight.contains(utc("2024-03-10T06:59:59Z"), &New_York));
    assert!(!overnight.contains(utc("2024-03-10T07:00:00Z"), &New_York));
}

// New York falls back on 2024-11-03: 02:00 EDT (06:00 UTC) becomes
// 01:00 EST, so local 01:00-01:59 happens twice.
#[test]
fn new_york_fall_back_opens_at_the_earlier_instant() {
    let windows = set("daily 01:30-03:00");
    // 00:00 EDT: opens at the first 01:30, which is EDT (05:30 UTC).
    assert_eq!(
        windows.next_open(utc("2024-11-03T04:00:00Z"), &New_York),
        utc("2024-11-03T05:30:00Z")
    );
    // The window keeps the repeated hour: 01:15 EST is inside. It closes
    // at 03:00 EST = 08:00 UTC.
    assert!(windows.contains(utc("2024-11-03T06:15:00Z"), &New_York));
    assert!(windows.contains(utc("2024-11-03T07:59:59Z"), &New_York));
    assert!(!windows.contains(utc("2024-11-03T08:00:00Z"), &New_York));
    // A window closing at an ambiguous time closes at its first instance.
    let early = set("daily 00:00-01:30");
    assert!(!early.contains(utc("2024-11-03T06:15:00Z"), &New_York));
    assert_eq!(
        early.next_open(utc("2024-11-03T05:30:00Z"), &New_York),
        utc("2024-11-04T05:00:00Z")
    );
}

// Berlin springs forward on 2024-03-31: 02:00 CET (01:00 UTC) becomes
// 03:00 CEST, and falls back on 2024-10-27: 03:00 CEST (01:00 UTC)
// becomes 02:00 CET.
#[test]
fn berlin_spring_forward_and_fall_back() {
    let windows = set("daily 02:30-05:00");
    assert_eq!(
        windows.next_open(utc("2024-03-31T00:00:00Z"), &Berlin),
        utc("2024-03-31T01:00:00Z")
    );
    // The day before, 02:30 CET is 01:30 UTC.
    assert_eq!(
        windows.next_open(utc("2024-03-29T23:00:00Z"), &Berlin),
        utc("2024-03-30T01:30:00Z")
    );
    // Fall-back: 02:30 happens as CEST (00:30 UTC) and as CET (01:30
    // UTC); the window opens at the first.
    assert_eq!(
        windows.next_open(utc("2024-10-26T23:00:00Z"), &Berlin),
        utc("2024-10-27T00:30:00Z")
    );
    // It closes at 05:00 CET = 04:00 UTC: four and a half real hours.
    assert!(windows.contains(utc("2024-10-27T03:59:59Z"), &Berlin));
    assert!(!windows.contains(utc("2024-10-27T04:00:00Z"), &Berlin));
    // A Monday-to-Friday window after the change is plain CET.
    assert_eq!(
        set("mon-fri 09:00-17:00").next_open(utc("2024-10-27T12:00:00Z"), &Berlin),
        utc("2024-10-28T08:00:00Z")
    );
}

// Santiago springs forward at midnight: on Sunday 2024-09-08, 00:00 -04
// (04:00 UTC) becomes 01:00 -03, so local 00:00-00:59 does not exist.
#[test]
fn santiago_midnight_gap() {
    let santiago = chrono_tz::America::Santiago;
    // Opening at the missing midnight opens at 01:00 -03.
    let sunday = set("sun 00:00-02:00");
    assert_eq!(
        sunday.next_open(utc("2024-09-07T12:00:00Z"), &santiago),
        utc("2024-09-08T04:00:00Z")
    );
    // Closing at the missing midnight (24:00 Saturday) closes at the
    // same instant, so the two windows touch without a gap.
    let saturday = set("sat 22:00-24:00");
    assert!(saturday.contains(utc("2024-09-08T03:59:59Z"), &santiago));
    assert!(!saturday.contains(utc("2024-09-08T04:00:00Z"), &santiago));
    let both = set("sat 22:00-24:00; sun 00:00-02:00");
    assert!(both.contains(utc("2024-09-08T04:00:00Z"), &santiago));
    // Sunday 02:00 -03 is 05:00 UTC.
    assert!(!both.contains(utc("2024-09-08T05:00:00Z"), &santiago));
}

#[test]
fn a_day_missing_from_the_calendar_is_skipped() {
    // Samoa moved across the date line: 2011-12-30 (a Friday) never
    // happened in Pacific/Apia. After Friday 2011-12-23 (20:00 -10:00 is
    // 06:00 UTC the next day), Friday windows resume on 2012-01-06 at
    // 09:00 +14:00, which is 19:00 UTC the day before.
    let apia = chrono_tz::Pacific::Apia;
    let windows = set("fri 09:00-17:00");
    assert_eq!(
        windows.next_open(utc("2011-12-24T06:00:00Z"), &apia),
        utc("2012-01-05T19:00:00Z")
    );
}
