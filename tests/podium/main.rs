//! podium's integration tests, in one binary (one link of burn, not one per file).

mod augment;
mod augment_ops;
mod averaging;
mod cli;
mod cross_validation;
mod data_files;
mod examples;
mod fixtures;
mod infer_tta;
mod learner;
mod loader;
mod losses;
mod metrics;
mod mixing;
mod models;
mod optimizers;
mod pooling;
mod recipe;
mod reference;
mod reference_harness;
mod report;
mod sampling;
mod schedules;
mod splits;
