//! `LearnerConfig` JSON through burn's `Config::load_binary`, then `validate`.
#![no_main]

use burn::config::Config;
use burn_podium::learner::LearnerConfig;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(config) = LearnerConfig::load_binary(data) {
        let _ = config.validate();
    }
});
