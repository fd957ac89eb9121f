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
];

/// The losses grouped by signature, as X-macros appended to the header:
/// `#define LOSSFN_<FORM>_LOSSES(X) X(a) X(b)` for the losses `lossfn_a_f32` / `_f64`, … whose
/// parameter types are the same. `<FORM>` is the options struct's stem (`lossfn_box_options` →
/// `BOX`), with `_INDEX` when a parameter is `const int64_t *` (class-index targets). C++ wrappers
/// (`include/lossfn.hpp`) and the C++ tests expand them, so a loss of an existing form needs no
/// C++ edit. Panics when two losses of one form differ in their parameter types.
fn loss_lists(header: &str) -> String {
    let mut forms: std::collections::BTreeMap<String, (Vec<String>, Vec<String>)> = Default::default();
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
        let Some(options) = types.iter().find_map(|t| t.strip_prefix("const struct lossfn_")?.strip_suffix("_options *")) else {
            continue; // not a loss (box_iou_matrix)
        };
        let index = types.iter().any(|t| t == "const int64_t *");
        let form = match FORM_NAMES.iter().find(|(f, _)| *f == name) {
            Some((_, form)) => form.to_string(),
            None => format!("{}{}", options.to_uppercase(), if index { "_INDEX" } else { "" }),
        };
        let entry = forms.entry(form.clone()).or_insert_with(|| (types.clone(), Vec::new()));
        assert!(
            entry.0 == types,
            "lossfn_{name}_f32 would have form {form}, but its parameters differ from lossfn_{}_f32's: \
             name its form in FORM_NAMES (tests/header.rs)",
            entry.1[0]
        );
        entry.1.push(name.to_string());
    }
    let mut out = String::from(
        "\n/*\n * The losses by signature: LOSSFN_<FORM>_LOSSES(X) expands to X(name) for every loss\n \
         * lossfn_<name>_f32 / _f64 of that form (same parameters; <FORM> is the options struct,\n \
         * _INDEX for class-index targets). For code written once per form: lossfn.hpp uses them.\n */\n",
    );
    for (form, (_, names)) in &forms {
        let xs: Vec<String> = names.iter().map(|n| format!("X({n})")).collect();
        out.push_str(&format!("#define LOSSFN_{form}_LOSSES(X) {}\n", xs.join(" ")));
    }
    out
}

#[test]
fn checked_in_header_equals_generated() {
    let generated = generate();
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("include/lossfn.h");
    if std::env::var_os("LOSSFN_BLESS_HEADER").is_some_and(|v| v == "1") {
        std::fs::write(&path, &generated).expect("write include/lossfn.h");
    }
    let checked_in = std::fs::read_to_string(&path).unwrap();
    assert!(
        generated == checked_in,
        "include/lossfn.h is stale: run `LOSSFN_BLESS_HEADER=1 cargo test --test header` and commit it"
    );
}
