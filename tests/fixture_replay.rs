//! The reference cases of `tests/fixtures/*.json` (float64 PyTorch / torchvision / MONAI /
//! ultralytics / mmdet, see tests/fixtures/README.md), replayed through the C ABI for every
//! function of the catalogue, in each dtype a case lists, with the tolerances of the README.
//!
//! One loop for every family: a case names its function (`fn`), its sizes (`n`, `m`, `dims` or
//! `shape`), its options by C field name (`opts`) and its inputs by C argument name (`inputs`;
//! the IoU matrix keeps them at the top level); the catalogue (`tests/fuzz_driver`) knows each
//! function's buffers and how to call it. Per call: status OK, loss and gradient within the
//! tolerance (a gradient given as null must be finite), finite outputs where the case says so,
//! and the same loss bitwise without the gradient.
mod common;
mod fuzz_driver;

use common::*;
use fuzz_driver::{Dims, Dt, Elt, Family, MatrixArgs, Opts, Values, ALL, F};
use serde_json::Value;
use std::collections::BTreeMap;

/// The fixture files and the fewest (case, dtype) runs each must give: a file that loses cases
/// fails here.
/// Runs each fixture file must make at least (cases × dtypes), so that a truncated file fails;
/// every `tests/fixtures/*.json` is replayed, listed here or not.
const MIN_RUNS: [(&str, usize); 9] = [
    ("regression", 150),
    ("boxes", 2 * 270),
    ("box_iou_matrix", 96),
    ("dfl", 2 * 22),
    ("keypoints", 2 * 7),
    ("classification", 170),
    ("overlap", 2 * 75),
    ("rotated", 2 * 17),
    ("probiou_matrix", 2 * 3),
];

/// The fixture files: every `*.json` of the fixtures directory, by name.
fn files() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(fixtures_dir())
        .expect("fixtures directory")
        .filter_map(|e| e.ok()?.file_name().to_str()?.strip_suffix(".json").map(String::from))
        .collect();
    names.sort();
    names
}

fn size(v: &Value, key: &str) -> usize {
    v[key].as_u64().unwrap_or_else(|| panic!("missing size `{key}` in {v}")) as usize
}

/// The call's sizes as the case gives them.
fn dims(f: F, case: &Value) -> Dims {
    match f.family() {
        Family::Regression | Family::Boxes => Dims::n(size(case, "n")),
        Family::Matrix => Dims::nm(size(case, "n"), size(case, "m")),
        Family::Keypoints => Dims::nm(size(&case["dims"], "n"), size(&case["dims"], "k")),
        Family::Dfl => Dims::dfl(size(&case["dims"], "n"), size(&case["dims"], "sides"), size(&case["dims"], "bins")),
        Family::Classification | Family::Overlap => {
            let s = &case["shape"];
            Dims::shape(size(s, "batch"), size(s, "classes"), size(s, "spatial"), size(s, "layout") as u32)
        }
    }
}

fn options(f: F, case: &Value) -> Option<Opts> {
    let mut o = Opts::new(f)?;
    for (name, v) in case["opts"].as_object().into_iter().flatten() {
        let x = match v {
            Value::Bool(b) => *b as u8 as f64,
            v => v.as_f64().unwrap_or_else(|| panic!("{}: option {name} = {v}", f.name())),
        };
        o = o.set(name, x);
    }
    Some(o)
}

fn matrix_args(case: &Value) -> MatrixArgs {
    // The matrices' scalars, where the case has them (the ProbIoU matrix takes eps only).
    let d = MatrixArgs::default();
    let get = |k: &str, v: u32| case.get(k).and_then(Value::as_u64).map_or(v, |x| x as u32);
    MatrixArgs { format: get("format", d.format), kind: get("kind", d.kind), eps: case.get("eps").and_then(Value::as_f64).unwrap_or(d.eps) }
}

/// One (case, dtype) run.
fn replay(ci: usize, case: &Value, f: F, dt: Dt, tag: &str) {
    let d = dims(f, case);
    let opts = options(f, case);
    let bytes = opts.as_ref().map(|o| &o.bytes[..]);
    let mx = matrix_args(case);
    let (specs, _) = fuzz_driver::buffers(f, dt, &d, bytes);
    let holder = if f.family() == Family::Matrix { case } else { &case["inputs"] };
    let inputs: Vec<Option<Values>> = specs
        .iter()
        .map(|s| {
            let v = &holder[s.name];
            if v.is_null() {
                assert!(s.optional, "case {ci} {}: input `{}` missing", f.name(), s.name);
                return None;
            }
            Some(match s.elt {
                Elt::I64 => Values::I(ints(v).unwrap()),
                Elt::Float(_) => Values::F(floats(v).unwrap()),
            })
        })
        .collect();
    let what = format!("case {ci} {} {tag} {} ({})", f.name(), case["opts"], case["note"]);
    let (rtol, atol) = tolerances(tag);
    let expected_loss = floats(if f.family() == Family::Matrix { &case["out"] } else { &case["loss"] }).unwrap();
    let out = fuzz_driver::call(f, dt, &d, &mx, bytes, &inputs, f.has_grad())
        .unwrap_or_else(|st| panic!("{what}: status {st}: {}", last_error()));
    assert_close(&format!("{what} loss"), &out.loss, &expected_loss, rtol, atol);
    if let Some(g) = &out.grad {
        match floats(&case["grad"]) {
            Some(e) => assert_close(&format!("{what} grad"), g, &e, rtol, atol),
            None => assert_finite(&format!("{what} grad"), g),
        }
    }
    if case["finite"].as_bool() == Some(true) {
        assert_finite(&what, &out.loss);
        assert_finite(&what, out.grad.as_deref().unwrap_or(&[]));
    }
    if f.has_grad() {
        let again = fuzz_driver::call(f, dt, &d, &mx, bytes, &inputs, false).unwrap();
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&again.loss), bits(&out.loss), "{what}: loss without grad differs");
    }
}

#[test]
fn fixtures_pass_f32_and_f64() {
    let mut runs: BTreeMap<(&'static str, &'static str), usize> = BTreeMap::new();
    let files = files();
    for (file, _) in MIN_RUNS {
        assert!(files.iter().any(|f| f == file), "tests/fixtures/{file}.json is missing");
    }
    for file in &files {
        let min_runs = MIN_RUNS.iter().find(|(f, _)| f == file).map_or(1, |&(_, n)| n);
        let mut ran = 0;
        for (ci, case) in fixture_cases(file).iter().enumerate() {
            let name = case["fn"].as_str().unwrap();
            let f = F::from_name(name).unwrap_or_else(|| panic!("{file}.json case {ci}: `{name}` is not in the catalogue"));
            for (dt, tag) in [(Dt::F32, "f32"), (Dt::F64, "f64")] {
                if has_dtype(case, tag) {
                    replay(ci, case, f, dt, tag);
                    *runs.entry((f.name(), tag)).or_default() += 1;
                    ran += 1;
                }
            }
        }
        assert!(ran >= min_runs, "{file}.json: only {ran} runs (at least {min_runs} expected)");
    }
    for f in ALL {
        for tag in ["f32", "f64"] {
            assert!(runs.get(&(f.name(), tag)).copied().unwrap_or(0) > 0, "{} has no {tag} fixture case", f.name());
        }
    }
}
