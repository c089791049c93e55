//! Named points where a test's child process dies as `kill -9` would stop it.
//!
//! Every step of the storage that changes a file (the redo log's writes, seals, new segments
//! and retirements; a drain, a checkpoint, an open's replay; the key check file; a rekey's
//! steps) names the point right after it with [`reached`]. A crash test runs its scenario in a
//! child process of the test binary: once listing the points it passes, then once per point,
//! dying there (`abort`: no destructor runs, no buffer is flushed, the files are left as the
//! kernel has them, as after `kill -9`), and checks that what the child left opens with every
//! write it had acknowledged (`storage/crash_tests.rs`, `rekey.rs`'s tests).
//!
//! Outside tests [`reached`] is empty and inlined away: no production build has the hook.

/// Marks a point a crash test may stop the process at.
#[cfg(not(test))]
#[inline(always)]
pub(crate) fn reached(_point: &str) {}

#[cfg(test)]
pub(crate) use harness::reached;

#[cfg(test)]
pub(crate) mod harness {
    use std::collections::HashMap;
    use std::io::Write;
    use std::process::{Command, Output};
    use std::sync::{Mutex, OnceLock};

    /// `point#n`: the child aborts the `n`th time it reaches `point`.
    const CRASH_AT: &str = "CRM_TEST_CRASH_AT";
    /// A file the child appends `point#n` to each time it reaches a point.
    const CRASH_LIST: &str = "CRM_TEST_CRASH_LIST";
    /// Tells a child test that it runs as one (its scenario's own settings follow in others).
    pub const CHILD: &str = "CRM_TEST_CRASH_CHILD";

    fn passes() -> &'static Mutex<HashMap<String, u32>> {
        static PASSES: OnceLock<Mutex<HashMap<String, u32>>> = OnceLock::new();
        PASSES.get_or_init(Mutex::default)
    }

    /// This process's settings: where to crash, where to list the points.
    fn settings() -> &'static (Option<String>, Option<String>) {
        static SETTINGS: OnceLock<(Option<String>, Option<String>)> = OnceLock::new();
        SETTINGS.get_or_init(|| (std::env::var(CRASH_AT).ok(), std::env::var(CRASH_LIST).ok()))
    }

    pub(crate) fn reached(point: &str) {
        let (crash_at, list) = settings();
        if crash_at.is_none() && list.is_none() {
            return;
        }
        let pass = {
            let mut passes = passes().lock().unwrap_or_else(|p| p.into_inner());
            let count = passes.entry(point.to_string()).or_insert(0);
            *count += 1;
            format!("{point}#{count}")
        };
        if let Some(path) = list {
            if let Ok(mut file) = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
            {
                let _ = writeln!(file, "{pass}");
            }
        }
        if crash_at.as_deref() == Some(pass.as_str()) {
            let _ = writeln!(std::io::stderr(), "crashing at {pass}");
            std::process::abort();
        }
    }

    /// Runs the ignored test `test` of this binary as a child process with `env`, dying at
    /// `crash_at` (`point#n`) if given.
    pub fn run_child(test: &str, env: &[(&str, String)], crash_at: Option<&str>) -> Output {
        let mut command = Command::new(std::env::current_exe().unwrap_or_default());
        command
            .args([
                "--exact",
                test,
                "--ignored",
                "--nocapture",
                "--test-threads",
                "1",
            ])
            .env(CHILD, "1")
            .env_remove(CRASH_LIST)
            .env_remove(CRASH_AT);
        for (name, value) in env {
            command.env(name, value);
        }
        if let Some(point) = crash_at {
            command.env(CRASH_AT, point);
        }
        match command.output() {
            Ok(output) => output,
            Err(error) => panic!("could not run the child test {test}: {error}"),
        }
    }

    /// Runs the child `test` once without a crash, and returns the points it passed, each as
    /// `point#n`, in order.
    pub fn points_of(test: &str, env: &[(&str, String)]) -> Vec<String> {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let list = dir.path().join("points");
        let mut env = env.to_vec();
        env.push((CRASH_LIST, list.display().to_string()));
        let output = run_child(test, &env, None);
        assert!(
            output.status.success(),
            "the child {test} failed without a crash: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        std::fs::read_to_string(&list)
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// The passes worth a crash: of each point, the first two and the last (a point passed
    /// in a loop differs little from one pass to the next).
    pub fn crash_passes(points: &[String]) -> Vec<String> {
        let mut last: HashMap<&str, u32> = HashMap::new();
        for pass in points {
            if let Some((point, n)) = pass.rsplit_once('#') {
                let n: u32 = n.parse().unwrap_or(0);
                let entry = last.entry(point).or_insert(0);
                *entry = (*entry).max(n);
            }
        }
        points
            .iter()
            .filter(|pass| {
                pass.rsplit_once('#').is_some_and(|(point, n)| {
                    let n: u32 = n.parse().unwrap_or(0);
                    n <= 2 || Some(&n) == last.get(point)
                })
            })
            .cloned()
            .collect()
    }

    /// Copies a (crashed) store folder, to crash or open the copy.
    pub fn copy_folder(from: &std::path::Path, to: &std::path::Path) {
        let listed = |dir| std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{e}"));
        std::fs::create_dir_all(to).unwrap_or_else(|e| panic!("{e}"));
        for entry in listed(from).flatten() {
            let target = to.join(entry.file_name());
            if entry.path().is_dir() {
                copy_folder(&entry.path(), &target);
            } else if let Err(error) = std::fs::copy(entry.path(), &target) {
                panic!("copying {}: {error}", entry.path().display());
            }
        }
    }

    /// Whether the child died at `pass` (it says so on stderr before it aborts).
    pub fn crashed_at(output: &Output, pass: &str) -> bool {
        !output.status.success()
            && String::from_utf8_lossy(&output.stderr).contains(&format!("crashing at {pass}"))
    }
}
