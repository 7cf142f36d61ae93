//! Table tests of the fleet file: the example, JSON, every located error, the globs.

use super::*;

#[test]
fn debug_positions() {
    for t in ["images:\n  - image: a\n    x: 1\n  -\n    image: b\n", "a:\n- 1\n- 2\n"] {
        println!("{t:?} => {:?}", yaml::parse(t));
    }
}
