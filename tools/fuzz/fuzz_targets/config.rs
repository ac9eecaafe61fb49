//! The configuration parser must never panic, whatever the file holds. Bytes that are not UTF-8
//! are replaced, as `mrproxy_config::parse_file` does.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(config) = mrproxy_config::parse(&text, "fuzz.conf") {
        // What the engine relies on: unique, kernel-sized interface names.
        for (i, a) in config.interfaces.iter().enumerate() {
            assert!(!a.name.is_empty() && a.name.len() <= 15);
            assert!(config.interfaces[i + 1..].iter().all(|b| b.name != a.name));
        }
    }
});
