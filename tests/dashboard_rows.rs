//! The energy dashboard's rows that not every meter can fill (issue 13,
//! point 5): every panel of the cost and price series, the price ahead
//! included, sits in the cost row, and every capacity panel in the
//! capacity row; each row is repeated over a hidden variable of the meters
//! that have its series and provisioned collapsed, so a setup without
//! prices or without the Belgian tariff shows one closed row header, never
//! empty panels.

use serde_json::Value;

fn dashboard() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/grafana/dashboards/energy.json"
    );
    let text = std::fs::read_to_string(path).expect("energy.json");
    serde_json::from_str(&text).expect("JSON")
}

fn exprs(panel: &Value) -> Vec<String> {
    panel["targets"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| t["expr"].as_str().map(str::to_owned))
        .collect()
}

/// (the row's variable, the series only its row shows, the series whose
/// meters the variable lists).
const ROWS: [(&str, &[&str], &str); 2] = [
    (
        "cost_meter",
        &[
            "dsmr_cost_total",
            "dsmr_earnings_total",
            "dsmr_price{",
            "dsmr_price_ahead",
        ],
        "dsmr_price_available",
    ),
    (
        "capacity_meter",
        &["dsmr_capacity_"],
        "dsmr_capacity_rolling_average_watts",
    ),
];

#[test]
fn rows_a_meter_cannot_fill_are_repeated_per_meter_that_can_and_collapsed() {
    let d = dashboard();
    let top = d["panels"].as_array().expect("panels");
    for (var, series, listed_by) in ROWS {
        let v = d["templating"]["list"]
            .as_array()
            .expect("variables")
            .iter()
            .find(|v| v["name"] == var)
            .unwrap_or_else(|| panic!("no variable {var}"));
        assert_eq!(v["hide"], 2, "{var} is hidden");
        let q = v["query"]["query"].as_str().unwrap_or_default();
        assert!(
            q.starts_with(&format!("label_values({listed_by}{{")),
            "{var}: {q}"
        );
        let row = top
            .iter()
            .find(|p| p["type"] == "row" && p["repeat"] == var)
            .unwrap_or_else(|| panic!("no row repeated over {var}"));
        assert_eq!(row["collapsed"], true, "{var}'s row is collapsed");
        let inside: Vec<&Value> = row["panels"]
            .as_array()
            .expect("row panels")
            .iter()
            .collect();
        assert!(!inside.is_empty());
        // Each panel in the row selects its meter by the row's variable.
        for p in &inside {
            for e in exprs(p) {
                assert!(e.contains(&format!("meter=~\"${var}\"")), "{e}");
            }
        }
        // No panel outside the row shows the row's series.
        for p in top.iter().filter(|p| p["type"] != "row") {
            for e in exprs(p) {
                for s in series {
                    assert!(!e.contains(s), "{} outside the row: {e}", p["title"]);
                }
            }
        }
        for s in series {
            assert!(
                inside
                    .iter()
                    .any(|p| exprs(p).iter().any(|e| e.contains(s))),
                "{s} in no panel of the {var} row"
            );
        }
    }
    // Tomorrow's prices: a bar chart over instant queries, by start.
    let cost_row = top.iter().find(|p| p["repeat"] == "cost_meter").unwrap();
    let ahead = cost_row["panels"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| exprs(p).iter().any(|e| e.contains("dsmr_price_ahead")))
        .expect("a price ahead panel");
    assert_eq!(ahead["type"], "barchart");
    assert_eq!(ahead["options"]["xField"], "start");
    for t in ahead["targets"].as_array().unwrap() {
        assert_eq!(t["instant"], true);
        assert!(t["expr"].as_str().unwrap().starts_with("max by (start) ("));
    }
}
