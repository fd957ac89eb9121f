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
    String::from_utf8(out).unwrap()
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
