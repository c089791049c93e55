//! The storage boundary holds: only `src/storage/` names sled in code, so another ordered KV
//! can be put under the engine by rewriting that one module.

#![allow(clippy::unwrap_used)]

use std::path::Path;

fn sources(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn only_the_storage_module_names_sled() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    assert!(files.len() > 20, "{files:?}");
    let mut offenders = Vec::new();
    for file in &files {
        if file.starts_with(src.join("storage")) {
            continue;
        }
        let text = std::fs::read_to_string(file).unwrap();
        for (number, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or_default();
            if code.contains("sled::") || code.contains("use sled") {
                offenders.push(format!("{}:{}: {line}", file.display(), number + 1));
            }
        }
    }
    assert!(offenders.is_empty(), "{offenders:#?}");
    let boundary = std::fs::read_to_string(src.join("storage/mod.rs")).unwrap();
    assert!(boundary.contains("sled::Config"));
}
