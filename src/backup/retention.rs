//! Which backups a destination keeps: grandfather-father-son retention with the semantics of
//! restic's `forget --keep-daily/--keep-weekly/--keep-monthly/--keep-yearly`, plus pinned
//! backups and the newest verified one, which are never deleted.
//!
//! The backups are walked newest first (by `created_at`, ties by id). Each rule has a period
//! (the civil day, the ISO 8601 week, the month, the year) and a count: a backup is kept by a
//! rule when its period differs from the period of the last backup that rule kept and the
//! rule still has count left, which keeps the newest backup of each of the `count` most recent
//! periods that have backups (empty periods do not use up the count). The periods are
//! computed from the civil date the caller passes (in the schedule's time zone), with jiff's
//! calendar (ISO weeks from [`Date::iso_week_date`]). Pure functions, no I/O: the caller
//! deletes.

use std::collections::HashSet;

use jiff::civil::Date;

/// How many of each period's newest backup to keep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// The newest backup of each of this many most recent days with backups.
    pub daily: u32,
    /// ... of each of this many most recent ISO weeks with backups.
    pub weekly: u32,
    /// ... of each of this many most recent months with backups.
    pub monthly: u32,
    /// ... of each of this many most recent years with backups; `None` keeps every year's.
    pub yearly: Option<u32>,
}

/// One backup in a destination, as retention sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub id: String,
    /// Unix seconds; orders the backups.
    pub created_at: i64,
    /// The civil date of `created_at` in the schedule's time zone.
    pub date: Date,
    /// Kept whatever the rules say.
    pub pinned: bool,
    /// Verified good; the newest such backup is never deleted.
    pub verified: bool,
}

/// The ids of the backups `policy` does not keep (each once, in the order of `backups`):
/// everything not kept by a rule, not pinned and not the newest verified backup.
pub fn to_delete(policy: &Policy, backups: &[Candidate]) -> Vec<String> {
    let mut order: Vec<&Candidate> = backups.iter().collect();
    order.sort_by(|a, b| {
        b.created_at
            .cmp(&a.created_at)
            .then_with(|| b.id.cmp(&a.id))
    });

    let mut rules = [
        Rule::new(Some(policy.daily), day_period),
        Rule::new(Some(policy.weekly), week_period),
        Rule::new(Some(policy.monthly), month_period),
        Rule::new(policy.yearly, |d| i64::from(d.year())),
    ];

    let mut keep: HashSet<&str> = HashSet::new();
    if let Some(newest_verified) = order.iter().find(|c| c.verified) {
        keep.insert(&newest_verified.id);
    }
    for candidate in &order {
        let mut kept = candidate.pinned;
        for rule in &mut rules {
            kept |= rule.offer(candidate.date);
        }
        if kept {
            keep.insert(&candidate.id);
        }
    }

    let mut seen = HashSet::new();
    backups
        .iter()
        .filter(|c| !keep.contains(c.id.as_str()) && seen.insert(c.id.as_str()))
        .map(|c| c.id.clone())
        .collect()
}

/// One of the four rules: how many periods it may still keep (`None`: any number), the
/// period of the last backup it kept, and how a date maps to its period.
struct Rule {
    left: Option<u32>,
    last: Option<i64>,
    period: fn(Date) -> i64,
}

impl Rule {
    fn new(count: Option<u32>, period: fn(Date) -> i64) -> Self {
        Rule {
            left: count,
            last: None,
            period,
        }
    }

    /// Whether this rule keeps the next (older) backup, dated `date`.
    fn offer(&mut self, date: Date) -> bool {
        if self.left == Some(0) {
            return false;
        }
        let period = (self.period)(date);
        if self.last == Some(period) {
            return false;
        }
        self.last = Some(period);
        if let Some(left) = &mut self.left {
            *left -= 1;
        }
        true
    }
}

/// The day of `date`, as a number that differs between days.
fn day_period(date: Date) -> i64 {
    month_period(date) * 100 + i64::from(date.day())
}

/// The ISO 8601 week of `date` (Monday to Sunday, in the year its Thursday is in).
fn week_period(date: Date) -> i64 {
    let week = date.iso_week_date();
    i64::from(week.year()) * 100 + i64::from(week.week())
}

/// The month of `date`.
fn month_period(date: Date) -> i64 {
    i64::from(date.year()) * 12 + i64::from(date.month())
}

#[cfg(test)]
mod tests {
    use super::*;

    use jiff::ToSpan;

    /// The date `days` after 1970-01-01.
    fn day(days: i32) -> Date {
        Date::constant(1970, 1, 1)
            .checked_add(days.days())
            .expect("a date in range")
    }

    /// Days from 1970-01-01 to `date`.
    fn days(date: Date) -> i32 {
        let seconds = date
            .to_zoned(jiff::tz::TimeZone::UTC)
            .expect("a date in range")
            .timestamp()
            .as_second();
        seconds.div_euclid(86_400) as i32
    }

    fn iso_week(date: Date) -> (i16, i8) {
        let week = date.iso_week_date();
        (week.year(), week.week())
    }

    fn parse(date: &str) -> Date {
        date.parse().expect("a date")
    }

    fn fmt(date: Date) -> String {
        date.to_string()
    }

    /// A nightly backup at 02:00 UTC on `date`, id = the date.
    fn nightly(date: &str) -> Candidate {
        let date = parse(date);
        Candidate {
            id: fmt(date),
            created_at: i64::from(days(date)) * 86_400 + 2 * 3600,
            date,
            pinned: false,
            verified: true,
        }
    }

    fn policy(daily: u32, weekly: u32, monthly: u32, yearly: Option<u32>) -> Policy {
        Policy {
            daily,
            weekly,
            monthly,
            yearly,
        }
    }

    /// The ids that survive, sorted.
    fn survivors(policy: &Policy, backups: &[Candidate]) -> Vec<String> {
        let deleted: HashSet<String> = to_delete(policy, backups).into_iter().collect();
        let mut kept: Vec<String> = backups
            .iter()
            .map(|c| c.id.clone())
            .filter(|id| !deleted.contains(id))
            .collect();
        kept.sort();
        kept
    }

    fn strings(ids: &[&str]) -> Vec<String> {
        let mut ids: Vec<String> = ids.iter().map(|s| s.to_string()).collect();
        ids.sort();
        ids
    }

    #[test]
    fn iso_weeks_at_year_ends_and_week_53() {
        let cases = [
            ("1970-01-01", (1970, 1)),
            ("2004-12-31", (2004, 53)),
            ("2005-01-02", (2004, 53)),
            ("2005-01-03", (2005, 1)),
            ("2008-12-29", (2009, 1)),
            ("2010-01-03", (2009, 53)),
            ("2010-01-04", (2010, 1)),
            ("2015-12-31", (2015, 53)),
            ("2020-12-28", (2020, 53)),
            ("2020-12-31", (2020, 53)),
            ("2021-01-01", (2020, 53)),
            ("2021-01-03", (2020, 53)),
            ("2021-01-04", (2021, 1)),
            ("2024-01-01", (2024, 1)),
            ("2024-12-29", (2024, 52)),
            ("2024-12-30", (2025, 1)),
            ("2025-01-01", (2025, 1)),
            ("2025-02-03", (2025, 6)),
            ("2026-12-31", (2026, 53)),
            ("2027-01-03", (2026, 53)),
            ("2027-01-04", (2027, 1)),
        ];
        for (date, expected) in cases {
            assert_eq!(iso_week(parse(date)), expected, "{date}");
        }
    }

    #[test]
    fn a_year_and_more_of_nightly_backups() {
        let missed: HashSet<String> = [
            "2024-10-31",
            "2024-12-31",
            "2025-01-20",
            "2025-01-21",
            "2025-01-22",
            "2025-01-23",
            "2025-01-24",
            "2025-01-25",
            "2025-01-26",
            "2025-02-01",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let first = days(Date::constant(2024, 1, 1));
        let mut backups: Vec<Candidate> = (first..first + 400)
            .map(|d| nightly(&fmt(day(d))))
            .filter(|c| !missed.contains(&c.id))
            .collect();
        assert_eq!(backups.len(), 390);
        assert_eq!(backups.last().map(|c| c.id.as_str()), Some("2025-02-03"));
        for c in &mut backups {
            c.pinned = c.id == "2024-03-15";
            c.verified = c.id != "2025-02-03" && c.id != "2025-02-02";
        }
        let b3 = policy(7, 5, 12, None);

        let expected = strings(&[
            // daily: the 7 most recent days with backups (02-01 was missed)
            "2025-02-03",
            "2025-02-02",
            "2025-01-31",
            "2025-01-30",
            "2025-01-29",
            "2025-01-28",
            "2025-01-27",
            // weekly: W06 (02-03), W05 (02-02), W04 empty, W03, W02, W01 (began 2024-12-30)
            "2025-01-19",
            "2025-01-12",
            "2025-01-05",
            // monthly: Feb 25 (02-03), Jan 25 (01-31), then the last night of each month
            // back to March 2024; Dec and Oct 2024 missed their last night
            "2024-12-30",
            "2024-11-30",
            "2024-10-30",
            "2024-09-30",
            "2024-08-31",
            "2024-07-31",
            "2024-06-30",
            "2024-05-31",
            "2024-04-30",
            "2024-03-31",
            // yearly (forever): 2025 (02-03) and 2024 (12-30), already kept
            // pinned
            "2024-03-15",
        ]);
        assert_eq!(survivors(&b3, &backups), expected);

        // Deleted in input order, once each.
        let deleted = to_delete(&b3, &backups);
        assert_eq!(deleted.len(), 390 - expected.len());
        assert_eq!(deleted.first().map(String::as_str), Some("2024-01-01"));
        let mut sorted = deleted.clone();
        sorted.sort();
        assert_eq!(deleted, sorted);

        // Pruning the survivors again deletes nothing.
        let kept: Vec<Candidate> = backups
            .iter()
            .filter(|c| !deleted.contains(&c.id))
            .cloned()
            .collect();
        assert!(to_delete(&b3, &kept).is_empty());

        // A year later, with only one more night (2026-02-03), yearly keeps 2024 and 2025.
        let mut later = kept.clone();
        later.push(nightly("2026-02-03"));
        let survivors_later = survivors(&b3, &later);
        for id in ["2024-12-30", "2025-02-03", "2026-02-03", "2024-03-15"] {
            assert!(survivors_later.contains(&id.to_string()), "{id}");
        }
        // Months count only when they have backups: Dec 2024 is still among the 12 most
        // recent, and March 2024 drops out. With 3 months and one year, 2024's last backup
        // goes too (its pin remains).
        assert!(survivors_later.contains(&"2024-04-30".to_string()));
        assert!(!survivors_later.contains(&"2024-03-31".to_string()));
        let one_year = policy(7, 5, 3, Some(1));
        let survivors_one = survivors(&one_year, &later);
        assert!(!survivors_one.contains(&"2024-12-30".to_string()));
        assert!(survivors_one.contains(&"2024-03-15".to_string()));
    }

    #[test]
    fn weekly_across_iso_week_53_and_a_week_that_starts_in_the_old_year() {
        let backups: Vec<Candidate> = [
            "2020-12-27", // Sun, 2020-W52
            "2020-12-28", // Mon, 2020-W53
            "2020-12-31", // Thu, 2020-W53
            "2021-01-01", // Fri, 2020-W53
            "2021-01-03", // Sun, 2020-W53
            "2021-01-04", // Mon, 2021-W01
        ]
        .iter()
        .map(|d| nightly(d))
        .collect();
        assert_eq!(
            survivors(&policy(0, 2, 0, Some(0)), &backups),
            strings(&["2021-01-03", "2021-01-04"])
        );
        assert_eq!(
            survivors(&policy(0, 3, 0, Some(0)), &backups),
            strings(&["2020-12-27", "2021-01-03", "2021-01-04"])
        );
        // Years are calendar years, not ISO years.
        assert_eq!(
            survivors(&policy(0, 0, 0, None), &backups),
            strings(&["2020-12-31", "2021-01-04"])
        );

        let backups: Vec<Candidate> = [
            "2024-12-29", // Sun, 2024-W52
            "2024-12-30", // Mon, 2025-W01
            "2024-12-31", // Tue, 2025-W01
            "2025-01-01", // Wed, 2025-W01
        ]
        .iter()
        .map(|d| nightly(d))
        .collect();
        assert_eq!(
            survivors(&policy(0, 2, 0, Some(0)), &backups),
            strings(&["2024-12-29", "2025-01-01"])
        );
        assert_eq!(
            survivors(&policy(0, 0, 2, Some(0)), &backups),
            strings(&["2024-12-31", "2025-01-01"])
        );
    }

    #[test]
    fn month_ends_including_a_leap_day() {
        let backups: Vec<Candidate> = [
            "2024-01-30",
            "2024-01-31",
            "2024-02-28",
            "2024-02-29",
            "2024-03-01",
            "2023-02-28",
            "2023-03-01",
        ]
        .iter()
        .map(|d| nightly(d))
        .collect();
        assert_eq!(
            survivors(&policy(0, 0, 3, Some(0)), &backups),
            strings(&["2024-01-31", "2024-02-29", "2024-03-01"])
        );
        assert_eq!(
            survivors(&policy(0, 0, 10, Some(0)), &backups),
            strings(&[
                "2023-02-28",
                "2023-03-01",
                "2024-01-31",
                "2024-02-29",
                "2024-03-01"
            ])
        );
    }

    #[test]
    fn several_backups_a_day_keep_the_newest_of_each_day() {
        let mut backups = Vec::new();
        for (i, hour) in [1, 9, 17].iter().enumerate() {
            for date in ["2024-05-01", "2024-05-02"] {
                let mut c = nightly(date);
                c.id = format!("{date}#{i}");
                c.created_at += (hour - 2) * 3600;
                backups.push(c);
            }
        }
        assert_eq!(
            survivors(&policy(2, 0, 0, Some(0)), &backups),
            strings(&["2024-05-01#2", "2024-05-02#2"])
        );
        // One day only: the newest of the newest day.
        assert_eq!(
            survivors(&policy(1, 0, 0, Some(0)), &backups),
            strings(&["2024-05-02#2"])
        );
    }

    #[test]
    fn the_newest_verified_backup_survives_even_when_no_rule_keeps_it() {
        // Verification has failed for a month: 60 nights, only the first 30 verified.
        let first = days(Date::constant(2024, 6, 1));
        let backups: Vec<Candidate> = (first..first + 60)
            .enumerate()
            .map(|(i, d)| Candidate {
                verified: i < 30,
                ..nightly(&fmt(day(d)))
            })
            .collect();
        let newest_verified = "2024-06-30";
        let survivors = survivors(&policy(7, 0, 0, Some(0)), &backups);
        assert!(survivors.contains(&newest_verified.to_string()));
        assert_eq!(survivors.len(), 8);
        // With nothing to keep by the rules, it alone remains.
        let nothing = policy(0, 0, 0, Some(0));
        let deleted = to_delete(&nothing, &backups);
        assert_eq!(deleted.len(), 59);
        assert!(!deleted.contains(&newest_verified.to_string()));
        // No backup verified: the rules alone decide.
        let unverified: Vec<Candidate> = backups
            .iter()
            .map(|c| Candidate {
                verified: false,
                ..c.clone()
            })
            .collect();
        assert_eq!(to_delete(&nothing, &unverified).len(), 60);
    }

    #[test]
    fn pinned_backups_are_kept_whatever_the_rules_say() {
        let mut backups: Vec<Candidate> = ["2024-05-01", "2024-05-02", "2024-05-03"]
            .iter()
            .map(|d| nightly(d))
            .collect();
        backups[2].pinned = true;
        backups[2].verified = false;
        backups[1].verified = false;
        // daily 1: the pinned newest (05-03) is kept by the pin and by the day rule.
        assert_eq!(
            survivors(&policy(1, 0, 0, Some(0)), &backups),
            strings(&["2024-05-01", "2024-05-03"])
        );
        assert_eq!(
            to_delete(&policy(0, 0, 0, Some(0)), &backups),
            ["2024-05-02"]
        );
        assert!(to_delete(&policy(0, 0, 0, Some(0)), &[]).is_empty());
    }

    #[test]
    fn duplicate_ids_are_returned_once_and_kept_if_any_copy_is_kept() {
        let mut a = nightly("2024-05-01");
        let mut b = nightly("2024-05-02");
        a.verified = false;
        b.verified = false;
        let mut a2 = a.clone();
        a2.created_at -= 60;
        let nothing = policy(0, 0, 0, Some(0));
        assert_eq!(
            to_delete(&nothing, &[a.clone(), b.clone(), a2.clone()]),
            ["2024-05-01", "2024-05-02"]
        );
        // daily 1 keeps b (the newest day); both copies of a go, named once.
        assert_eq!(
            to_delete(&policy(1, 0, 0, Some(0)), &[a2, b, a]),
            ["2024-05-01"]
        );
        // A copy kept by a pin keeps the id.
        let mut c = nightly("2024-04-01");
        c.verified = false;
        let mut c2 = c.clone();
        c2.pinned = true;
        c2.created_at -= 60;
        assert!(to_delete(&nothing, &[c, c2]).is_empty());
    }

    /// A small deterministic generator (xorshift64*), so the property checks need no crate.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }

        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
    }

    /// The kept set by the definition ("the newest backup of each of the N most recent
    /// periods with backups"), computed by grouping rather than by walking.
    fn reference_keep(policy: &Policy, backups: &[Candidate]) -> HashSet<String> {
        let mut keep = HashSet::new();
        let newest = |group: &[&Candidate]| {
            group
                .iter()
                .max_by(|a, b| {
                    a.created_at
                        .cmp(&b.created_at)
                        .then_with(|| a.id.cmp(&b.id))
                })
                .map(|c| c.id.clone())
        };
        let by = |count: Option<u32>,
                  period: &dyn Fn(&Candidate) -> i64,
                  keep: &mut HashSet<String>| {
            let mut periods: Vec<i64> = backups.iter().map(period).collect();
            periods.sort_unstable();
            periods.dedup();
            periods.reverse();
            let take = count.map_or(periods.len(), |n| n as usize);
            for p in periods.into_iter().take(take) {
                let group: Vec<&Candidate> = backups.iter().filter(|c| period(c) == p).collect();
                keep.extend(newest(&group));
            }
        };
        by(Some(policy.daily), &|c| i64::from(days(c.date)), &mut keep);
        by(
            Some(policy.weekly),
            &|c| {
                let (y, w) = iso_week(c.date);
                i64::from(y) * 100 + i64::from(w)
            },
            &mut keep,
        );
        by(
            Some(policy.monthly),
            &|c| i64::from(c.date.year()) * 12 + i64::from(c.date.month()),
            &mut keep,
        );
        by(policy.yearly, &|c| i64::from(c.date.year()), &mut keep);
        keep.extend(backups.iter().filter(|c| c.pinned).map(|c| c.id.clone()));
        let verified: Vec<&Candidate> = backups.iter().filter(|c| c.verified).collect();
        keep.extend(newest(&verified));
        keep
    }

    #[test]
    fn properties_over_random_histories() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let start = days(Date::constant(2019, 11, 1));
        for round in 0..400 {
            let n = rng.below(120) as usize;
            let span = 1 + rng.below(1500) as i64;
            let mut backups: Vec<Candidate> = (0..n)
                .map(|i| {
                    let at = i64::from(start) * 86_400 + rng.below(span as u64 * 86_400) as i64;
                    Candidate {
                        id: format!("b{i}"),
                        created_at: at,
                        date: day(at.div_euclid(86_400) as i32),
                        pinned: rng.below(20) == 0,
                        verified: rng.below(3) != 0,
                    }
                })
                .collect();
            // Sometimes a shuffled copy order; the result must not depend on it.
            if round % 2 == 1 {
                backups.reverse();
            }
            let policy = Policy {
                daily: rng.below(10) as u32,
                weekly: rng.below(8) as u32,
                monthly: rng.below(15) as u32,
                yearly: if rng.below(3) == 0 {
                    None
                } else {
                    Some(rng.below(4) as u32)
                },
            };

            let deleted = to_delete(&policy, &backups);
            let deleted_set: HashSet<&String> = deleted.iter().collect();
            let ids: HashSet<&String> = backups.iter().map(|c| &c.id).collect();
            // Subset of the input, each once.
            assert!(deleted.iter().all(|id| ids.contains(id)), "round {round}");
            assert_eq!(deleted_set.len(), deleted.len(), "round {round}");
            // Never a pinned backup, never the newest verified one.
            for c in &backups {
                if c.pinned {
                    assert!(
                        !deleted_set.contains(&c.id),
                        "round {round}: pinned {}",
                        c.id
                    );
                }
            }
            let newest_verified = backups.iter().filter(|c| c.verified).max_by(|a, b| {
                a.created_at
                    .cmp(&b.created_at)
                    .then_with(|| a.id.cmp(&b.id))
            });
            if let Some(c) = newest_verified {
                assert!(
                    !deleted_set.contains(&c.id),
                    "round {round}: newest verified"
                );
            }
            // Exactly the definition's complement.
            let keep = reference_keep(&policy, &backups);
            for c in &backups {
                assert_eq!(
                    deleted_set.contains(&c.id),
                    !keep.contains(&c.id),
                    "round {round}: {} under {policy:?}",
                    c.id
                );
            }
            // Independent of the order given.
            let mut reordered = backups.clone();
            reordered.rotate_left(n / 3);
            let mut again: Vec<String> = to_delete(&policy, &reordered);
            again.sort();
            let mut sorted = deleted.clone();
            sorted.sort();
            assert_eq!(again, sorted, "round {round}");
            // Idempotent: the survivors lose nothing more.
            let kept: Vec<Candidate> = backups
                .iter()
                .filter(|c| !deleted_set.contains(&c.id))
                .cloned()
                .collect();
            assert!(to_delete(&policy, &kept).is_empty(), "round {round}");
        }
    }
}
