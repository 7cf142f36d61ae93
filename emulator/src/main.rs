//! `xnat-emulator`: run the emulator on a loopback port.
fn main() {}
