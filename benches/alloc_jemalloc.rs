//! A SimpleCnn MNIST-sized training step under the jemalloc allocator (see `alloc/mnist_step.rs`).
//!
//! ```sh
//! nice -n 5 cargo bench --features jemalloc-bench --bench alloc_system --bench alloc_mimalloc --bench alloc_jemalloc
//! ```

#[path = "alloc/mnist_step.rs"]
mod mnist_step;

#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn bench(c: &mut criterion::Criterion) {
    mnist_step::mnist_step(c, "jemalloc");
}

criterion::criterion_group!(benches, bench);
criterion::criterion_main!(benches);
