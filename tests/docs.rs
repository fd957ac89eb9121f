//! The documentation is self-contained: no file of the repository cites a design document that
//! is not in it, and every relative link of the Markdown pages points at a file that exists.
use std::fs;
use std::path::{Path, PathBuf};

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
