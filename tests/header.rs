//! The checked-in C header equals what cbindgen generates from the sources.
//!
//! cbindgen is a dev-dependency only: generating the header is a developer step, so builds of
//! the library (CMake subprojects, Cargo dependents) never compile it.
//! `LOSSFN_BLESS_HEADER=1 cargo test --test header` rewrites `include/lossfn.h`.
use std::path::Path;

fn generate() -> String {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml")).expect("cbindgen.toml");
    let v = |s: &str| s.parse::<u32>().unwrap();
    let (major, minor, patch) =
        (v(env!("CARGO_PKG_VERSION_MAJOR")), v(env!("CARGO_PKG_VERSION_MINOR")), v(env!("CARGO_PKG_VERSION_PATCH")));
    config.after_includes = Some(format!(
        "\n/* Version of these headers; compare with lossfn_version_number() of the loaded library. */\n\
         #define LOSSFN_VERSION_MAJOR {major}\n#define LOSSFN_VERSION_MINOR {minor}\n#define LOSSFN_VERSION_PATCH {patch}\n\
         #define LOSSFN_VERSION_NUMBER {}\n",
        major * 10000 + minor * 100 + patch
    ));
    let bindings = cbindgen::Builder::new()
        .with_crate(crate_dir)
        .with_config(config)
        .generate()
        .expect("cbindgen failed to generate include/lossfn.h");
    let mut out = Vec::new();
    bindings.write(&mut out);
    let header = String::from_utf8(out).unwrap();
    let guard_end = "\n#endif  /* LOSSFN_H */";
    let at = header.rfind(guard_end).expect("the include guard's end");
    format!("{}{}{}", &header[..at], loss_lists(&header), &header[at..])
}

/// Losses whose form is not named by the rule below because another loss with the same options
/// struct (and target kind) has other parameters: (function, form name). Generalized Dice has
/// `dice_loss`'s options but no class_weight.
const FORM_NAMES: &[(&str, &str)] = &[
    ("generalized_dice_loss", "GENERALIZED_DICE_INDEX"),
    ("generalized_dice_loss_soft", "GENERALIZED_DICE"),
    // Dice + cross entropy / focal: two options structs (overlap, cross_entropy / focal).
    ("dice_ce_loss", "DICE_CE"),
    ("dice_focal_loss", "DICE_FOCAL"),
    // The two phases of the batch score across ranks: a kind argument, statistics in double.
    ("overlap_stats", "OVERLAP_STATS_INDEX"),
    ("overlap_stats_soft", "OVERLAP_STATS"),
    ("overlap_loss_from_stats", "OVERLAP_FROM_STATS_INDEX"),
    ("overlap_loss_from_stats_soft", "OVERLAP_FROM_STATS"),
    // Not losses (no options struct, no list in the header): their forms for the test catalogue.
    ("box_iou_matrix", "MATRIX"),
    ("probiou_matrix", "PROBIOU_MATRIX"),
];

/// Every computing function of the header (`lossfn_<name>_f32` / `_f64`) with its form, in the
/// header's order: `(name, form, loss)`. `<FORM>` is the options struct's stem
/// (`lossfn_box_options` → `BOX`), with `_INDEX` when a parameter is `const int64_t *`
/// (class-index targets), or the name [`FORM_NAMES`] gives; a function without an options struct
/// (the IoU matrices) is not a loss and needs its form there. Panics when two losses of one form
/// differ in their parameter types.
fn forms(header: &str) -> Vec<(String, String, bool)> {
    let mut params_of: std::collections::BTreeMap<String, (Vec<String>, String)> = Default::default();
    let mut out = Vec::new();
    for piece in header.split("\nlossfn_status lossfn_").skip(1) {
        let Some((name, rest)) = piece.split_once('(') else { continue };
        let Some(name) = name.strip_suffix("_f32") else { continue };
        let params = rest.split_once(");").expect("a declaration ends with );").0;
        // Parameter types: each parameter without its name.
        let types: Vec<String> = params
            .split(',')
            .map(|p| {
                let p = p.split_whitespace().collect::<Vec<_>>().join(" ");
                let cut = p.rfind(|c: char| c == ' ' || c == '*').expect("a named parameter");
                p[..=cut].trim().to_string()
            })
            .collect();
        let options = types.iter().find_map(|t| t.strip_prefix("const struct lossfn_")?.strip_suffix("_options *"));
        let index = types.iter().any(|t| t == "const int64_t *");
        let form = match (FORM_NAMES.iter().find(|(f, _)| *f == name), options) {
            (Some((_, form)), _) => form.to_string(),
            (None, Some(options)) => format!("{}{}", options.to_uppercase(), if index { "_INDEX" } else { "" }),
            (None, None) => panic!("lossfn_{name}_f32 takes no options struct: name its form in FORM_NAMES (tests/header.rs)"),
        };
        let (first_types, first) = params_of.entry(form.clone()).or_insert_with(|| (types.clone(), name.to_string()));
        assert!(
            *first_types == types,
            "lossfn_{name}_f32 would have form {form}, but its parameters differ from lossfn_{first}_f32's: \
             name its form in FORM_NAMES (tests/header.rs)"
        );
        out.push((name.to_string(), form, options.is_some()));
    }
    out
}

/// The losses grouped by signature, as X-macros appended to the header:
/// `#define LOSSFN_<FORM>_LOSSES(X) X(a) X(b)` for the losses `lossfn_a_f32` / `_f64`, … of one
/// form ([`forms`]: the same parameter types). C++ wrappers (`include/lossfn.hpp`) and the C++
/// tests expand them, so a loss of an existing form needs no C++ edit.
fn loss_lists(header: &str) -> String {
    let mut lists: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for (name, form, loss) in forms(header) {
        if loss {
            lists.entry(form).or_default().push(name);
        }
    }
    let mut out = String::from(
        "\n/*\n * The losses by signature: LOSSFN_<FORM>_LOSSES(X) expands to X(name) for every loss\n \
         * lossfn_<name>_f32 / _f64 of that form (same parameters; <FORM> is the options struct,\n \
         * _INDEX for class-index targets). For code written once per form: lossfn.hpp uses them.\n */\n",
    );
    for (form, names) in &lists {
        let xs: Vec<String> = names.iter().map(|n| format!("X({n})")).collect();
        out.push_str(&format!("#define LOSSFN_{form}_LOSSES(X) {}\n", xs.join(" ")));
    }
    out
}

/// The test driver's catalogue (`tests/fuzz_driver/catalogue.rs`), generated from the header:
/// one line per function, `Variant name FORM;` (the variant is the name in CamelCase), in the
/// header's order. Every suite iterates it, so a function added to the C API is in every suite
/// as soon as the header is regenerated; its form must be one the driver knows (`Form`).
fn catalogue(header: &str) -> String {
    let mut out = String::from(
        "// Generated by tests/header.rs from include/lossfn.h (the functions and their forms). Do not edit:\n\
         // run `LOSSFN_BLESS_HEADER=1 cargo test --release --test header`.\n\
         catalogue! { $\n",
    );
    for (name, form, _) in forms(header) {
        let variant: String = name.split('_').map(|w| w[..1].to_uppercase() + &w[1..]).collect();
        out.push_str(&format!("    {variant} {name} {form};\n"));
    }
    out.push_str("}\n");
    out
}

/// Writes `text` to `path` under `LOSSFN_BLESS_HEADER=1`; then asserts the file holds it.
fn check_generated(path: &str, text: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    if std::env::var_os("LOSSFN_BLESS_HEADER").is_some_and(|v| v == "1") {
        std::fs::write(&path, text).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    }
    let checked_in = std::fs::read_to_string(&path).unwrap();
    assert!(
        text == checked_in,
        "{} is stale: run `LOSSFN_BLESS_HEADER=1 cargo test --release --test header` and commit it",
        path.display()
    );
}

#[test]
fn checked_in_header_equals_generated() {
    check_generated("include/lossfn.h", &generate());
}

/// The driver's catalogue is the header's functions (so no suite can miss one).
#[test]
fn checked_in_catalogue_equals_generated() {
    check_generated("tests/fuzz_driver/catalogue.rs", &catalogue(&generate()));
}
