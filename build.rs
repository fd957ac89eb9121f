//! Generates the C header with cbindgen.
//!
//! The header is written to `$OUT_DIR/lossfn.h`; the checked-in `include/lossfn.h` must equal
//! it (tests/header.rs fails otherwise). `LOSSFN_BLESS_HEADER=1 cargo build` refreshes the
//! checked-in copy after an API change.
use std::{env, fs, path::PathBuf};

fn main() {
    let crate_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    let out = PathBuf::from(env::var("OUT_DIR").unwrap()).join("lossfn.h");
    println!("cargo:rerun-if-changed=src");
    println!("cargo:rerun-if-changed=cbindgen.toml");
    println!("cargo:rerun-if-env-changed=LOSSFN_BLESS_HEADER");

    // A SONAME lets executables linked against the build tree run against an installed copy.
    if env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,liblossfn.so");
    }

    let mut config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml")).expect("cbindgen.toml");
    let v = |k: &str| env::var(k).unwrap().parse::<u32>().unwrap();
    let (major, minor, patch) = (v("CARGO_PKG_VERSION_MAJOR"), v("CARGO_PKG_VERSION_MINOR"), v("CARGO_PKG_VERSION_PATCH"));
    config.after_includes = Some(format!(
        "\n/* Version of these headers; compare with lossfn_version_number() of the loaded library. */\n\
         #define LOSSFN_VERSION_MAJOR {major}\n#define LOSSFN_VERSION_MINOR {minor}\n#define LOSSFN_VERSION_PATCH {patch}\n\
         #define LOSSFN_VERSION_NUMBER {}\n",
        major * 10000 + minor * 100 + patch
    ));
    let bindings = cbindgen::Builder::new()
        .with_crate(&crate_dir)
        .with_config(config)
        .generate()
        .expect("cbindgen failed to generate include/lossfn.h");
    bindings.write_to_file(&out);
    println!("cargo:rustc-env=LOSSFN_GENERATED_HEADER={}", out.display());
    if env::var_os("LOSSFN_BLESS_HEADER").is_some_and(|v| v == "1") {
        fs::copy(&out, crate_dir.join("include/lossfn.h")).expect("write include/lossfn.h");
    }
}
