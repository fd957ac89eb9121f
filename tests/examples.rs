//! The Rust example (`examples/train.rs`) runs as a test: both models train.
#[path = "../examples/train.rs"]
mod train;

#[test]
fn box_regressor_trains_with_ciou() {
    let (before, after) = train::boxes(300);
    assert!(before > 0.5, "initial CIoU loss {before}");
    assert!(after < 0.05 * before, "CIoU loss {before} -> {after}");
}

#[test]
fn classifier_trains_with_softmax_focal() {
    let (before, after, accuracy) = train::classes(300);
    assert!(after < 0.2 * before, "focal loss {before} -> {after}");
    assert!(accuracy > 0.95, "accuracy {accuracy}");
}
