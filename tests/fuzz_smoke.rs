//! A fixed-seed run of the fuzz driver (`tests/fuzz_driver/mod.rs`) over every exported loss
//! and the IoU matrix, f32 and f64: about half a minute under `cargo test --release`, less in
//! debug (fewer cases). Longer campaigns run the same driver under libFuzzer: see
//! `docs/hardening.md`.
mod common;
mod fuzz_driver;

use common::Rng;
use fuzz_driver::{Dt, Outcome};
use lossfn::capi::{LOSSFN_ERROR_INTERNAL, LOSSFN_ERROR_MISALIGNED};

/// Cases per shard and catalogue entry: a shard runs `PER_FUNCTION × ALL.len()` cases (~2 M under
/// --release, ~8 M in all, ~30 s of one core each; far fewer in debug, where a case is ~20x
/// slower), so a new loss does not thin the other functions' share.
const PER_FUNCTION: usize = if cfg!(debug_assertions) { 2_000 } else { 45_000 };

/// Successful calls with checked finite outputs each function must reach per dtype and shard
/// (the lowest, the two-phase loss on soft targets in f32, reaches ~2 % of its cases).
const MIN_FINITE_CHECKED: usize = if cfg!(debug_assertions) { 40 } else { 900 };

/// Per function and dtype: [skipped, rejected, ok unchecked, ok NaN-checked, ok finite-checked].
type Stats = std::collections::BTreeMap<String, [usize; 5]>;

fn shard(seed: u64) {
    // LOSSFN_FUZZ_SEED explores other streams (the suite runs the fixed one).
    let base = std::env::var("LOSSFN_FUZZ_SEED").ok().and_then(|s| s.parse::<u64>().ok()).unwrap_or(0);
    let mut rng = Rng(0x5eed_0000 + seed + (base << 8));
    let mut data = Vec::new();
    let mut stats = Stats::new();
    let mut statuses = [0usize; LOSSFN_ERROR_MISALIGNED as usize + 1];
    for case in 0..PER_FUNCTION * fuzz_driver::ALL.len() {
        let len = 64 + rng.below(2048) as usize;
        data.clear();
        while data.len() < len {
            data.extend_from_slice(&rng.next_u64().to_le_bytes());
        }
        let r = std::panic::catch_unwind(|| fuzz_driver::run(&data));
        if let Ok((f, dt, outcome)) = r {
            let s = stats.entry(format!("{}_{dt:?}", f.name())).or_default();
            match outcome {
                Outcome::Skipped => s[0] += 1,
                Outcome::Rejected(st) => {
                    s[1] += 1;
                    statuses[st as usize] += 1;
                }
                Outcome::Ok { tier } => {
                    s[2 + tier as usize] += 1;
                    statuses[0] += 1;
                }
            }
        }
        if let Err(e) = r {
            let hex: String = data.iter().map(|b| format!("{b:02x}")).collect();
            eprintln!("shard {seed} case {case}: reproduce with this input (hex):\n{hex}");
            std::panic::resume_unwind(e);
        }
    }
    // The stream must reach every entry point, succeed on each, check finite outputs on each,
    // and produce every error status.
    eprintln!("shard {seed}: statuses OK..MISALIGNED {statuses:?}");
    for f in fuzz_driver::ALL {
        for dt in [Dt::F32, Dt::F64] {
            let name = format!("{}_{dt:?}", f.name());
            let s = stats.get(&name).copied().unwrap_or_default();
            eprintln!("  {name:24} skipped {:5} rejected {:5} ok {:5} (NaN-checked {:5}, finite-checked {:5})", s[0], s[1], s[2] + s[3] + s[4], s[3], s[4]);
            assert!(s[4] >= MIN_FINITE_CHECKED, "{name}: only {} successful calls with checked finite outputs", s[4]);
        }
    }
    // Every status but INTERNAL (a bug) must occur.
    let missing = (0..statuses.len()).filter(|&st| st != LOSSFN_ERROR_INTERNAL as usize && statuses[st] == 0);
    assert!(missing.clone().next().is_none(), "statuses {statuses:?}: never saw {:?}", missing.collect::<Vec<_>>());
}

// Four shards run as separate tests, so the cores share the work.
#[test]
fn fuzz_smoke_0() {
    shard(0);
}
#[test]
fn fuzz_smoke_1() {
    shard(1);
}
#[test]
fn fuzz_smoke_2() {
    shard(2);
}
#[test]
fn fuzz_smoke_3() {
    shard(3);
}

/// Replays one input given as hex in LOSSFN_FUZZ_HEX (printed by a failing shard), or every
/// file of the directory LOSSFN_FUZZ_DIR (e.g. a libFuzzer corpus or artifacts).
#[test]
fn replay() {
    if let Ok(hex) = std::env::var("LOSSFN_FUZZ_HEX") {
        let bytes: Vec<u8> = (0..hex.len() / 2).map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap()).collect();
        fuzz_driver::run(&bytes);
    }
    if let Ok(dir) = std::env::var("LOSSFN_FUZZ_DIR") {
        for e in std::fs::read_dir(dir).unwrap() {
            let path = e.unwrap().path();
            eprintln!("{}", path.display());
            fuzz_driver::run(&std::fs::read(&path).unwrap());
        }
    }
}

/// Every function is reached by the stream (the selector is the first byte).
#[test]
fn every_function_is_reached() {
    let mut rng = Rng(1);
    let mut seen = [false; fuzz_driver::ALL.len()];
    for _ in 0..2000 {
        seen[(rng.next_u64() & 0xff) as usize % fuzz_driver::ALL.len()] = true;
    }
    assert!(seen.iter().all(|&s| s), "{seen:?}");
}

/// The driver's catalogue (`fuzz_driver::ALL`, which every per-function suite iterates through
/// `per_function_tests!`) is exactly the computing functions of the generated header: a new
/// function that is not registered fails here, not silently unfuzzed.
#[test]
fn catalogue_matches_the_header() {
    let header = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/include/lossfn.h")).unwrap();
    let mut exported: Vec<String> = header
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter_map(|w| w.strip_prefix("lossfn_")?.strip_suffix("_f32").map(str::to_owned))
        .collect();
    exported.sort();
    exported.dedup();
    let mut listed: Vec<String> = fuzz_driver::ALL.iter().map(|f| f.name().to_owned()).collect();
    listed.sort();
    assert_eq!(listed, exported, "fuzz_driver::ALL vs the header's lossfn_*_f32 functions");
    for name in &exported {
        assert!(header.contains(&format!("lossfn_{name}_f64(")), "lossfn_{name}_f32 has no _f64 twin");
    }
    // Each function's form is the header list it is in (that is how the driver calls it).
    let lists = form_lists();
    for f in fuzz_driver::ALL {
        let in_lists: Vec<&str> = lists.iter().filter(|(_, names)| names.iter().any(|n| n == f.name())).map(|(l, _)| l.as_str()).collect();
        let want: Vec<String> = f.form().header_list().into_iter().collect();
        assert_eq!(in_lists, want, "lossfn_{}: the catalogue's form {:?} vs the header's lists", f.name(), f.form());
    }
}

/// The header's form lists (`#define LOSSFN_<FORM>_LOSSES(X) X(a) X(b)`, see `tests/header.rs`):
/// the list macro's name and the losses it names.
fn form_lists() -> Vec<(String, Vec<String>)> {
    let header = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/include/lossfn.h")).unwrap();
    header
        .lines()
        .filter_map(|l| {
            let (list, xs) = l.strip_prefix("#define ")?.split_once("(X) ")?;
            let names = xs.split_whitespace().map(|x| x.trim_start_matches("X(").trim_end_matches(')').to_string()).collect();
            Some((list.to_string(), names))
        })
        .collect()
}

/// The arguments of every invocation `NAME(arg)` in `text` at the start of a line (indented or not).
fn invocations<'a>(text: &'a str, name: &str) -> Vec<&'a str> {
    text.lines()
        .filter_map(|l| l.trim_start().strip_prefix(name)?.strip_prefix('(')?.split(')').next().map(str::trim))
        .collect()
}

/// Every computing function of the header is called by `include/lossfn.hpp` in both precisions,
/// directly (`lossfn_x_f32(`) or through one of its macros (`#define LOSSFN_BOX_(name)` whose
/// body calls `lossfn_##name##_f32`), invoked by name (`LOSSFN_BOX_(ciou_loss)`) or over a form
/// list of the header (`LOSSFN_BOX_LOSSES(LOSSFN_BOX_)`): a function added to the C API without its
/// C++ wrapper fails here.
#[test]
fn every_function_has_a_cpp_wrapper() {
    let hpp = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/include/lossfn.hpp")).unwrap();
    let lists = form_lists();
    let mut called: std::collections::BTreeSet<String> = std::collections::BTreeSet::new();
    // Direct calls.
    for piece in hpp.split("lossfn_").skip(1) {
        let word: String = piece.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
        if piece[word.len()..].starts_with('(') {
            called.insert(word);
        }
    }
    // Macros: for each `#define NAME(name)`, the suffixes its body calls (`lossfn_##name##SUFFIX(`),
    // then every invocation `NAME(arg)`, or `LIST(NAME)` of a form list, calls lossfn_<arg><SUFFIX>.
    let lines: Vec<&str> = hpp.lines().collect();
    let mut i = 0;
    while i < lines.len() {
        if let Some(rest) = lines[i].trim_start().strip_prefix("#define ") {
            if let Some((macro_name, param)) = rest.split_once('(').and_then(|(m, r)| Some((m, r.split_once(')')?.0))) {
                let mut body = String::new();
                while i < lines.len() {
                    body.push_str(lines[i]);
                    body.push('\n');
                    if !lines[i].trim_end().ends_with('\\') {
                        break;
                    }
                    i += 1;
                }
                let marker = format!("lossfn_##{param}##");
                let suffixes: Vec<String> = body
                    .split(&marker)
                    .skip(1)
                    .map(|p| p.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect())
                    .collect();
                let mut args: Vec<String> = invocations(&hpp, macro_name).into_iter().map(String::from).collect();
                for (list, names) in &lists {
                    if invocations(&hpp, list).contains(&macro_name) {
                        args.extend(names.iter().cloned());
                    }
                }
                for arg in args {
                    for s in &suffixes {
                        called.insert(format!("{arg}{s}"));
                    }
                }
            }
        }
        i += 1;
    }
    for f in fuzz_driver::ALL {
        for dt in ["f32", "f64"] {
            let name = format!("{}_{dt}", f.name());
            assert!(called.contains(&name), "include/lossfn.hpp never calls lossfn_{name}");
        }
    }
}

/// `tests/cpp/test_nullptr.cpp` calls every function's C++ vector form (with `nullptr` for each
/// optional argument), by name (`lossfn::x(`) or over its form list (`LOSSFN_BOX_LOSSES(CALL)`):
/// a wrapper of a new form added without its test fails here.
#[test]
fn every_cpp_vector_form_is_called_by_the_nullptr_test() {
    let test = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/cpp/test_nullptr.cpp")).unwrap();
    let listed: Vec<String> =
        form_lists().into_iter().filter(|(list, _)| !invocations(&test, list).is_empty()).flat_map(|(_, names)| names).collect();
    for f in fuzz_driver::ALL {
        assert!(
            test.contains(&format!("lossfn::{}(", f.name())) || listed.iter().any(|n| n == f.name()),
            "tests/cpp/test_nullptr.cpp never calls lossfn::{}",
            f.name()
        );
    }
}
