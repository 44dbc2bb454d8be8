//! `cargo test --release -p vsync --test e2e bench_fanout -- --ignored --nocapture`: the
//! fan-out timed against the servers.

use vsync_testkit::services;

use super::setup;
use crate::harness::World;
use crate::require_keychain;

/// One timed run of the binary: wall time and the child's own CPU (user + sys, from the shell's
/// `times` builtin, so no extra dependency). Output is scanned for secrets like every other run.
fn timed(w: &World, args: &[&str]) -> (serde_json::Value, f64, f64) {
    let script = r#""$0" "$@"; rc=$?; times >&2; exit $rc"#;
    let mut cmd = w.command("bash", &w.repo_dir);
    cmd.arg("-c")
        .arg(script)
        .arg(env!("CARGO_BIN_EXE_vsync"))
        .args(args);
    let t0 = std::time::Instant::now();
    let out = cmd.output().unwrap();
    let wall = t0.elapsed().as_secs_f64();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    w.assert_no_secret(&args, &stdout, &stderr);
    // exit 6 (moto answering 500 under load) is reported, not fatal, in the benchmark
    if !out.status.success() && out.status.code() != Some(6) {
        let v: serde_json::Value = serde_json::from_str(&stdout).unwrap_or_default();
        for t in v.as_array().into_iter().flatten() {
            let failed: Vec<_> = t["results"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|k| k["status"] != "ok")
                .take(3)
                .collect();
            eprintln!("{}: {:?} {failed:?}", t["target"], t["problems"]);
        }
        panic!("{stderr}");
    }
    // last line of `times`: children's "XmY.YYYs XmY.YYYs"
    let secs = |t: &str| -> f64 {
        let (m, s) = t.trim_end_matches('s').split_once('m').unwrap();
        m.parse::<f64>().unwrap() * 60.0 + s.parse::<f64>().unwrap()
    };
    let last = stderr.lines().last().unwrap();
    let cpu: f64 = last.split_whitespace().map(secs).sum();
    (serde_json::from_str(&stdout).unwrap(), wall, cpu)
}

/// `cargo test --release -p vsync --test e2e bench_fanout -- --ignored --nocapture`:
/// 1,000 keys to the GitHub fake and moto at once, default jobs vs `--jobs 1`. OpenBao refuses a
/// KV v2 write of 1,000 keys (its default `max_request_json_strings` is 1,000 strings, a key and
/// a value each), so hashivault gets the largest map it accepts (450 keys) in a run of its own.
/// Numbers go to docs/benchmarks.md.
#[test]
#[ignore = "benchmark: run on purpose"]
fn bench_fanout_1000_keys() {
    require_keychain!();
    for (n, targets) in [(1000, "github,aws"), (450, "hashivault")] {
        let mut walls = Vec::new();
        for jobs in ["6", "1"] {
            walls.push(bench_run(n, targets, jobs));
        }
        println!(
            "BENCH {targets} ratio wall(jobs=1) / wall(jobs=6): {:.2}",
            walls[1] / walls[0]
        );
    }
}

fn bench_run(n: usize, targets: &str, jobs: &str) -> f64 {
    let keys: Vec<(String, String)> = (0..n)
        .map(|i| (format!("K{i:04}"), format!("bench-{jobs}-{i:04}-x")))
        .collect();
    let pairs: Vec<(&str, &str)> = keys.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let (w, s) = setup(&pairs).expect("the GitHub fake");
    let routing = s.routing();
    let mut a = vec!["sync", "dev", "--to", targets, "--json"];
    a.extend(routing.iter().map(String::as_str));
    a.extend(["--jobs", jobs, "--rate", "100000"]);
    let (v, wall, cpu) = timed(&w, &a);
    let mut per = Vec::new();
    for t in v.as_array().unwrap() {
        let ok = t["results"]
            .as_array()
            .map_or(0, |r| r.iter().filter(|k| k["status"] == "ok").count());
        let secs = t["elapsed_ms"].as_f64().unwrap() / 1000.0;
        per.push(format!(
            "{} {ok}/{n} ok in {:.2}s ({:.0} keys/s)",
            t["target"].as_str().unwrap(),
            secs,
            n as f64 / secs
        ));
    }
    let gh_requests = services::http_request("GET", &format!("{}/_fake/requests", s.gh.url()), &[])
        .ok()
        .and_then(|r| serde_json::from_str::<serde_json::Value>(&r.body).ok())
        .and_then(|v| v.as_array().map(Vec::len))
        .unwrap_or(0);
    println!(
        "BENCH {targets} n={n} jobs={jobs}: wall {wall:.2}s, vsync cpu {cpu:.2}s ({:.1}% of wall); github fake requests {gh_requests}; {}",
        100.0 * cpu / wall,
        per.join("; ")
    );
    wall
}
