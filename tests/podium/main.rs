//! podium's integration tests, in one binary (one link of burn, not one per file).

mod augment;
mod augment_ops;
mod averaging;
mod cross_validation;
mod csv_columns;
mod data_files;
mod eval_crop;
mod examples;
mod fixtures;
mod infer_tta;
mod learner;
mod loader;
mod losses;
mod make_competition;
mod metrics;
mod mixing;
mod models;
mod optimizers;
mod pooling;
mod reference;
mod reference_harness;
mod report;
mod sampling;
mod schedules;
mod splits;
mod weight_decay;
