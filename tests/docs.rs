//! The documentation is self-contained: no file of the repository cites a design document that
//! is not in it, and every relative link of the Markdown pages points at a file that exists.
use std::fs;
use std::path::{Path, PathBuf};

#[allow(dead_code)]
mod common;
mod fuzz_driver;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// The text files users read or build from (the fixtures' JSON included: its `origin` fields).
fn files() -> Vec<PathBuf> {
    let mut out = vec![];
    for top in ["README.md", "BENCHMARKS.md", "SECURITY.md", "CMakeLists.txt", "build.rs", "cbindgen.toml"] {
        out.push(Path::new(ROOT).join(top));
    }
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if path.is_dir() {
                if !["target", "build", "__pycache__", ".pytest_cache"].contains(&name.as_str()) && !name.ends_with(".egg-info") {
                    walk(&path, out);
                }
            } else if [".rs", ".md", ".h", ".hpp", ".c", ".cpp", ".py", ".cmake", ".json", ".toml", ".in", ".txt"]
                .iter()
                .any(|ext| name.ends_with(ext))
            {
                out.push(path);
            }
        }
    }
    for dir in ["src", "include", "docs", "tests", "tools", "bindings", "benches", "examples", "cmake", "fuzz/fuzz_targets", ".ci"] {
        walk(&Path::new(ROOT).join(dir), &mut out);
    }
    out
}

#[test]
fn no_file_cites_a_document_outside_the_repository() {
    // Built from pieces so that this file does not match itself.
    let outside = [concat!("DES", "IGN"), concat!("../", "shared")];
    let mut bad = vec![];
    for path in files() {
        let Ok(text) = fs::read_to_string(&path) else { continue };
        for (i, line) in text.lines().enumerate() {
            if let Some(word) = outside.iter().find(|w| line.contains(*w)) {
                bad.push(format!("{}:{}: cites {word}", path.strip_prefix(ROOT).unwrap().display(), i + 1));
            }
        }
    }
    assert!(bad.is_empty(), "cite docs/api.md (the contract in the repository) instead:\n{}", bad.join("\n"));
}

#[test]
fn markdown_links_resolve() {
    let mut bad = vec![];
    let mut pages = vec![];
    for path in files() {
        if path.extension().is_some_and(|e| e == "md") {
            pages.push(path);
        }
    }
    assert!(pages.iter().any(|p| p.ends_with("docs/api.md")), "docs/api.md is missing");
    for page in pages {
        let text = fs::read_to_string(&page).unwrap();
        let mut rest = text.as_str();
        while let Some(at) = rest.find("](") {
            rest = &rest[at + 2..];
            let Some(end) = rest.find(')') else { break };
            let target = rest[..end].split('#').next().unwrap();
            if target.is_empty() || target.contains("://") || target.starts_with("mailto:") || target.contains(' ') {
                continue;
            }
            if !page.parent().unwrap().join(target).exists() {
                bad.push(format!("{}: link to {target}", page.strip_prefix(ROOT).unwrap().display()));
            }
        }
    }
    assert!(bad.is_empty(), "broken links:\n{}", bad.join("\n"));
}

/// The family page that documents `family`'s functions (its `## Functions` table).
fn page(family: fuzz_driver::Family) -> &'static str {
    use fuzz_driver::Family::*;
    match family {
        Regression => "docs/regression.md",
        Boxes | Dfl | Keypoints | Matrix => "docs/boxes.md",
        Classification => "docs/classification.md",
        Overlap => "docs/overlap.md",
    }
}

/// The rows of the `## Functions` table of a page: the C names their first cell lists
/// (`` `lossfn_x` ``) and their last cell (the state).
fn function_rows(page: &str) -> Vec<(Vec<String>, String)> {
    let text = fs::read_to_string(Path::new(ROOT).join(page)).unwrap();
    let section = text.split("\n## Functions\n").nth(1).unwrap_or_else(|| panic!("{page} has no `## Functions` section"));
    let section = section.split("\n## ").next().unwrap();
    section
        .lines()
        .filter(|l| l.starts_with("| `lossfn_"))
        .map(|l| {
            let cells: Vec<&str> = l.trim_matches('|').split(" | ").map(str::trim).collect();
            let names = cells[0]
                .split('`')
                .filter_map(|w| w.strip_prefix("lossfn_"))
                .map(|w| w.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect())
                .collect();
            (names, cells.last().unwrap().to_string())
        })
        .collect()
}

/// Every function of the catalogue has a row marked `done` in its family page's table, and every
/// `done` row names functions of the catalogue (a planned row: functions not in the header yet).
/// A loss added without its docs row fails here, and so does a row left `planned` once it lands.
#[test]
fn every_function_has_its_row_in_its_family_page() {
    let mut bad = vec![];
    for f in fuzz_driver::ALL {
        let rows = function_rows(page(f.family()));
        match rows.iter().find(|(names, _)| names.iter().any(|n| n == f.name())) {
            None => bad.push(format!("{}: no row for lossfn_{}", page(f.family()), f.name())),
            Some((_, state)) if state != "done" => {
                bad.push(format!("{}: lossfn_{} is in the header but its row says {state:?}", page(f.family()), f.name()))
            }
            Some(_) => {}
        }
    }
    for p in ["docs/regression.md", "docs/boxes.md", "docs/classification.md", "docs/overlap.md"] {
        for (names, state) in function_rows(p) {
            for n in names {
                let listed = fuzz_driver::F::from_name(&n).is_some_and(|f| page(f.family()) == p);
                if (state == "done") != listed {
                    bad.push(format!("{p}: lossfn_{n} is marked {state:?} but is {}in the catalogue of this page", if listed { "" } else { "not " }));
                }
            }
        }
    }
    assert!(bad.is_empty(), "docs tables out of date:\n{}", bad.join("\n"));
}
