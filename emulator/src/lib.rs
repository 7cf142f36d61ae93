//! An emulator of XNAT Container Service 3.7.3 on XNAT 1.9 (spec: xnat-container-service.md §7).
