//! Which meters a reload keeps, stops and starts: a pure comparison of the
//! running meters' configurations with the new file's, by name and by
//! every setting.

use crate::cli::MeterConfig;

/// What a reload does, in the new file's order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Plan {
    /// For each meter of the new file: `Some(i)` keeps running meter `i`
    /// (same name, same settings), `None` starts it.
    pub next: Vec<Option<usize>>,
    /// Running meters that stop: removed from the file, or changed.
    pub stop: Vec<usize>,
    /// Names of the meters in both whose settings changed (stopped and
    /// started again), for the log.
    pub changed: Vec<String>,
}

impl Plan {
    /// Compares `running` with `wanted`. Names are unique in each.
    pub fn new(running: &[MeterConfig], wanted: &[MeterConfig]) -> Plan {
        let mut plan = Plan::default();
        let mut kept = vec![false; running.len()];
        for w in wanted {
            let same_name = running.iter().position(|r| r.name == w.name);
            match same_name {
                Some(i) if running[i] == *w => {
                    kept[i] = true;
                    plan.next.push(Some(i));
                }
                Some(_) => {
                    plan.changed.push(w.name.clone());
                    plan.next.push(None);
                }
                None => plan.next.push(None),
            }
        }
        plan.stop = (0..running.len()).filter(|&i| !kept[i]).collect();
        plan
    }

    /// Meters that start (added or changed).
    pub fn started(&self) -> usize {
        self.next.iter().filter(|n| n.is_none()).count()
    }

    /// Meters that keep running untouched.
    pub fn kept(&self) -> usize {
        self.next.len() - self.started()
    }

    /// True when the reload changes nothing.
    pub fn is_empty(&self) -> bool {
        self.stop.is_empty() && self.started() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::SourceConfig;
    use dsmr_engine::Zone;
    use std::time::Duration;

    fn meter(name: &str, stale: u64) -> MeterConfig {
        MeterConfig {
            name: name.to_owned(),
            source: SourceConfig::Demo(Default::default()),
            zone: Zone::CET,
            stale_after: Duration::from_secs(stale),
            timezone: "Europe/Amsterdam".to_owned(),
            capacity: Default::default(),
            prices: None,
        }
    }

    #[test]
    fn kept_changed_added_and_removed_meters() {
        let running = [meter("a", 60), meter("b", 60), meter("c", 60)];
        let wanted = [meter("c", 60), meter("b", 30), meter("d", 60)];
        let plan = Plan::new(&running, &wanted);
        assert_eq!(plan.next, vec![Some(2), None, None]);
        assert_eq!(plan.stop, vec![0, 1]);
        assert_eq!(plan.changed, vec!["b".to_owned()]);
        assert_eq!((plan.kept(), plan.started()), (1, 2));
        assert!(Plan::new(&running, &running).is_empty());
    }
}
