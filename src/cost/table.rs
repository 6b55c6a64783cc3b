//! A table of prices by interval: sorted, looked up by binary search, so a
//! telegram costs one `O(log n)` lookup. A [`Feed`] shares one table
//! between the fetcher that fills it and the meters that read it.

use super::money::Nanos;
use std::sync::RwLock;

/// One price interval: `[start, end)` in Unix seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Interval {
    /// First second the price holds.
    pub start: i64,
    /// First second it no longer holds.
    pub end: i64,
    /// Price per unit (spot, before any [`super::Formula`]).
    pub price: Nanos,
}

/// Most intervals kept: 15-minute prices for about three months (a price
/// file's most rows).
pub const MAX_INTERVALS: usize = 10_000;

/// Prices by interval, sorted by start, never overlapping.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PriceTable {
    intervals: Vec<Interval>,
}

impl PriceTable {
    /// The price in force at Unix second `at`, if the table has one.
    pub fn at(&self, at: i64) -> Option<Nanos> {
        let i = self.intervals.partition_point(|iv| iv.start <= at);
        let iv = self.intervals.get(i.checked_sub(1)?)?;
        (at < iv.end).then_some(iv.price)
    }

    /// The intervals, in order.
    pub fn intervals(&self) -> &[Interval] {
        &self.intervals
    }

    /// The end of the last interval, if any.
    pub fn end(&self) -> Option<i64> {
        self.intervals.last().map(|iv| iv.end)
    }

    /// Puts `new` in, replacing whatever it overlaps (a newer publication
    /// wins), then drops the oldest intervals beyond [`MAX_INTERVALS`].
    /// Empty intervals are ignored.
    pub fn merge(&mut self, new: &[Interval]) {
        for &iv in new.iter().filter(|iv| iv.end > iv.start) {
            self.intervals
                .retain(|old| old.end <= iv.start || old.start >= iv.end);
            let at = self.intervals.partition_point(|old| old.start < iv.start);
            self.intervals.insert(at, iv);
        }
        let excess = self.intervals.len().saturating_sub(MAX_INTERVALS);
        self.intervals.drain(..excess);
    }

    /// Drops intervals that ended before `before`.
    pub fn prune(&mut self, before: i64) {
        self.intervals.retain(|iv| iv.end > before);
    }
}

/// Rows of `(start, price)` as intervals: each lasts until the next row's
/// start; the last one lasts as long as the one before it, or `last`
/// seconds when it is alone. Rows must be sorted by start, strictly.
pub fn rows_to_intervals(rows: &[(i64, Nanos)], last: i64) -> Result<Vec<Interval>, usize> {
    let mut out = Vec::with_capacity(rows.len());
    for (i, w) in rows.windows(2).enumerate() {
        if w[1].0 <= w[0].0 {
            return Err(i + 1);
        }
        out.push(Interval {
            start: w[0].0,
            end: w[1].0,
            price: w[0].1,
        });
    }
    if let Some(&(start, price)) = rows.last() {
        let len = out.last().map_or(last, |iv| iv.end - iv.start);
        out.push(Interval {
            start,
            end: start.saturating_add(len),
            price,
        });
    }
    Ok(out)
}

/// One price source's table, shared: written by its fetcher, read on every
/// telegram of every meter that uses it. A read lock for a binary search.
#[derive(Debug, Default)]
pub struct Feed {
    /// What the feed is, for logs (`entsoe 10YNL----------L`, a file name).
    pub name: String,
    table: RwLock<PriceTable>,
}

impl Feed {
    /// An empty feed.
    pub fn new(name: impl Into<String>) -> Feed {
        Feed {
            name: name.into(),
            table: RwLock::default(),
        }
    }

    /// The price at Unix second `at`.
    pub fn at(&self, at: i64) -> Option<Nanos> {
        self.table.read().unwrap_or_else(|e| e.into_inner()).at(at)
    }

    /// Where the feed's last price ends (Unix seconds), if it has one.
    pub fn end(&self) -> Option<i64> {
        self.table.read().unwrap_or_else(|e| e.into_inner()).end()
    }

    /// Replaces the whole table (a price file: the file is the truth, old
    /// rows included, so an old capture can be replayed with its prices).
    pub fn replace(&self, new: &[Interval]) {
        let ordered = new.iter().all(|iv| iv.end > iv.start)
            && new.windows(2).all(|w| w[0].end <= w[1].start);
        let mut table = PriceTable::default();
        if ordered {
            // Rows are already a table: no merging needed.
            let skip = new.len().saturating_sub(MAX_INTERVALS);
            table.intervals = new[skip..].to_vec();
        } else {
            table.merge(new);
        }
        *self.table.write().unwrap_or_else(|e| e.into_inner()) = table;
    }

    /// A copy of the table (for the store).
    pub fn snapshot(&self) -> PriceTable {
        self.table.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The intervals that overlap `[from, to)`, in order: what the live
    /// page draws as the price curve.
    pub fn between(&self, from: i64, to: i64) -> Vec<Interval> {
        let t = self.table.read().unwrap_or_else(|e| e.into_inner());
        t.intervals()
            .iter()
            .filter(|iv| iv.end > from && iv.start < to)
            .copied()
            .collect()
    }

    /// At most `max` intervals from the one in force at `from` on, that
    /// start before `to`: the prices known ahead. A binary search, so a
    /// scrape of many meters on one long table stays cheap.
    pub fn ahead(&self, from: i64, to: i64, max: usize) -> Vec<Interval> {
        let t = self.table.read().unwrap_or_else(|e| e.into_inner());
        let ivs = t.intervals();
        let first = ivs.partition_point(|iv| iv.end <= from);
        ivs[first..]
            .iter()
            .take_while(|iv| iv.start < to)
            .take(max)
            .copied()
            .collect()
    }

    /// Merges fetched intervals in and drops those older than `prune_before`.
    pub fn merge(&self, new: &[Interval], prune_before: i64) {
        let mut t = self.table.write().unwrap_or_else(|e| e.into_inner());
        t.merge(new);
        t.prune(prune_before);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iv(start: i64, end: i64, price: i64) -> Interval {
        Interval {
            start,
            end,
            price: Nanos(price),
        }
    }

    #[test]
    fn a_price_holds_from_its_start_to_just_before_its_end() {
        let mut t = PriceTable::default();
        t.merge(&[iv(0, 900, 1), iv(900, 1800, 2), iv(3600, 4500, 3)]);
        assert_eq!(t.at(-1), None);
        assert_eq!(t.at(0), Some(Nanos(1)));
        assert_eq!(t.at(899), Some(Nanos(1)));
        assert_eq!(t.at(900), Some(Nanos(2)));
        assert_eq!(t.at(1800), None, "a gap is no price, never a zero");
        assert_eq!(t.at(4499), Some(Nanos(3)));
        assert_eq!(t.at(4500), None);
    }

    #[test]
    fn a_newer_publication_replaces_what_it_overlaps() {
        let mut t = PriceTable::default();
        t.merge(&[iv(0, 3600, 1), iv(3600, 7200, 2)]);
        t.merge(&[iv(0, 900, 5), iv(900, 1800, 6)]);
        assert_eq!(t.at(0), Some(Nanos(5)));
        assert_eq!(t.at(2000), None);
        assert_eq!(t.at(3600), Some(Nanos(2)));
        t.prune(3601);
        assert_eq!(t.intervals().len(), 1);
    }

    #[test]
    fn a_file_replaces_its_feed_whole_old_rows_included() {
        let feed = Feed::new("f");
        feed.merge(&[iv(0, 900, 1)], i64::MIN);
        feed.replace(&[iv(900, 1800, 2), iv(1800, 2700, 3)]);
        assert_eq!(feed.at(0), None);
        assert_eq!(feed.at(900), Some(Nanos(2)));
        // Out of order: merged, the later one winning.
        feed.replace(&[iv(1800, 2700, 3), iv(0, 2000, 4)]);
        assert_eq!(feed.at(1900), Some(Nanos(4)));
        assert_eq!(feed.at(2100), None);
    }

    #[test]
    fn ahead_is_the_interval_in_force_and_those_after_it_bounded() {
        let feed = Feed::new("f");
        feed.merge(
            &[
                iv(0, 900, 1),
                iv(900, 1800, 2),
                iv(1800, 2700, 3),
                iv(3600, 4500, 4),
            ],
            i64::MIN,
        );
        let starts = |v: Vec<Interval>| v.iter().map(|iv| iv.start).collect::<Vec<_>>();
        assert_eq!(starts(feed.ahead(900, 10_000, 10)), vec![900, 1800, 3600]);
        assert_eq!(
            starts(feed.ahead(899, 10_000, 10)),
            vec![0, 900, 1800, 3600]
        );
        assert_eq!(
            starts(feed.ahead(1000, 1800, 10)),
            vec![900],
            "to is exclusive"
        );
        assert_eq!(starts(feed.ahead(0, 10_000, 2)), vec![0, 900]);
        assert!(feed.ahead(4500, 10_000, 10).is_empty(), "all passed");
    }

    #[test]
    fn rows_become_intervals_until_the_next_row() {
        let rows = [(0, Nanos(1)), (900, Nanos(2)), (1800, Nanos(3))];
        let ivs = rows_to_intervals(&rows, 3600).unwrap();
        assert_eq!(
            ivs,
            vec![iv(0, 900, 1), iv(900, 1800, 2), iv(1800, 2700, 3)]
        );
        assert_eq!(
            rows_to_intervals(&rows[..1], 3600).unwrap(),
            vec![iv(0, 3600, 1)]
        );
        assert_eq!(
            rows_to_intervals(&[(5, Nanos(1)), (5, Nanos(2))], 60),
            Err(1)
        );
    }
}
