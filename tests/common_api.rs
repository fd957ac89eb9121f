//! The common C API: status names, last error, version, threads (header drift: tests/header.rs).
mod common;
use lossfn::capi::*;
use std::ffi::CStr;

#[test]
fn status_names() {
    let name = |s| unsafe { CStr::from_ptr(lossfn_status_name(s)) }.to_str().unwrap().to_owned();
    assert_eq!(name(LOSSFN_OK), "LOSSFN_OK");
    assert_eq!(name(LOSSFN_ERROR_NULL_POINTER), "LOSSFN_ERROR_NULL_POINTER");
    assert_eq!(name(LOSSFN_ERROR_INVALID_SIZE), "LOSSFN_ERROR_INVALID_SIZE");
    assert_eq!(name(LOSSFN_ERROR_INVALID_OPTION), "LOSSFN_ERROR_INVALID_OPTION");
    assert_eq!(name(LOSSFN_ERROR_INVALID_TARGET), "LOSSFN_ERROR_INVALID_TARGET");
    assert_eq!(name(LOSSFN_ERROR_OVERLAP), "LOSSFN_ERROR_OVERLAP");
    assert_eq!(name(LOSSFN_ERROR_INTERNAL), "LOSSFN_ERROR_INTERNAL");
    assert_eq!(name(99), "LOSSFN_UNKNOWN_STATUS");
}

#[test]
fn version_matches_cargo_toml() {
    let toml = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml")).unwrap();
    let version = toml
        .lines()
        .find_map(|l| l.strip_prefix("version = \""))
        .and_then(|l| l.strip_suffix('"'))
        .unwrap();
    let s = unsafe { CStr::from_ptr(lossfn_version_string()) }.to_str().unwrap();
    assert_eq!(s, version);
    let p: Vec<u32> = version.split('.').map(|x| x.parse().unwrap()).collect();
    assert_eq!(lossfn_version_number(), p[0] * 10000 + p[1] * 100 + p[2]);
    let header = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/include/lossfn.h")).unwrap();
    for (name, v) in [("MAJOR", p[0]), ("MINOR", p[1]), ("PATCH", p[2]), ("NUMBER", lossfn_version_number())] {
        assert!(header.contains(&format!("#define LOSSFN_VERSION_{name} {v}\n")), "header LOSSFN_VERSION_{name}");
    }
}

#[test]
fn last_error_truncates_and_reports_full_length() {
    let st = unsafe {
        lossfn_l1_loss_f64(std::ptr::null(), std::ptr::null(), std::ptr::null(), 3, std::ptr::null(), std::ptr::null_mut(), std::ptr::null_mut())
    };
    assert_eq!(st, LOSSFN_ERROR_NULL_POINTER);
    let full = common::last_error();
    assert!(full.contains("`input` is NULL"), "{full}");
    let mut buf = [0x55u8; 5];
    let n = unsafe { lossfn_last_error(buf.as_mut_ptr().cast(), buf.len()) };
    assert_eq!(n, full.len());
    assert_eq!(&buf[..4], &full.as_bytes()[..4]);
    assert_eq!(buf[4], 0);
    // Per thread: another thread sees no error.
    let other = std::thread::spawn(|| unsafe { lossfn_last_error(std::ptr::null_mut(), 0) }).join().unwrap();
    assert_eq!(other, 0);
}

#[test]
fn thread_count_round_trips() {
    assert_eq!(lossfn_set_num_threads(3), LOSSFN_OK);
    assert_eq!(lossfn_get_num_threads(), 3);
    assert_eq!(lossfn_set_num_threads(0), LOSSFN_OK);
    assert!(lossfn_get_num_threads() >= 1);
    assert_eq!(lossfn_set_num_threads(1 << 40), LOSSFN_ERROR_INVALID_OPTION);
}
