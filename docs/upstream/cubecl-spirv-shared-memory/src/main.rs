//! Minimal CubeCL SPIR-V kernels on wgpu's Vulkan backend (lavapipe on a CPU), to find which
//! SPIR-V feature crashes lavapipe: `cubecl-spirv-shared-memory add|atomic-u32|atomic-f32|shared`.
use cubecl::__private::Runtime;
use cubecl::client::Client;
use cubecl::prelude::*;
use cubecl::server::Handle;
use cubecl::wgpu::{WgpuBackend, WgpuDevice, WgpuDeviceKind, WgpuRuntime};

#[cube(launch)]
fn add_one<F: Float>(output: &mut [F]) {
    if ABSOLUTE_POS < output.len() {
        output[ABSOLUTE_POS] = output[ABSOLUTE_POS] + F::new(1.0);
    }
}

#[cube(launch)]
fn atomic_add<I: Numeric>(atomics: &[Atomic<I>]) {
    atomics[0].fetch_add(I::from_int(5));
}

#[cube(launch)]
fn shared_slice<F: Float>(output: &mut [F]) {
    let mut smem = Shared::new_slice(8usize);
    smem[0] = F::new(42.0);
    output[0] = smem[0];
}

/// Uploads `data`, runs `launch` on its handle and prints what the kernel left in the buffer.
fn run<T: CubeElement + std::fmt::Debug>(client: &Client, data: &[T], launch: impl FnOnce(Handle)) {
    let handle = client.create_from_slice(T::as_bytes(data));
    launch(handle.clone());
    println!("{:?}", T::from_bytes(&client.read_one_unchecked(handle)));
}

fn main() {
    let which = std::env::args().nth(1).unwrap_or_else(|| "add".into());
    let device = WgpuDevice {
        kind: WgpuDeviceKind::Cpu,
        backend: WgpuBackend::Vulkan,
    };
    let client = <WgpuRuntime as Runtime>::client(&device);
    let one = CubeCount::Static(1, 1, 1);
    match which.as_str() {
        "add" => run(&client, &[1.0f32, 2.0, 3.0, 4.0], |h| {
            add_one::launch::<f32>(&client, one, CubeDim::new_1d(4), unsafe {
                BufferArg::from_raw_parts(h, 4)
            })
        }),
        "atomic-u32" => run(&client, &[12u32], |h| {
            atomic_add::launch::<u32>(&client, one, CubeDim::new_1d(4), unsafe {
                BufferArg::from_raw_parts(h, 1)
            })
        }),
        "atomic-f32" => run(&client, &[12.0f32], |h| {
            atomic_add::launch::<f32>(&client, one, CubeDim::new_1d(4), unsafe {
                BufferArg::from_raw_parts(h, 1)
            })
        }),
        "shared" => run(&client, &[0.0f32], |h| {
            shared_slice::launch::<f32>(&client, one, CubeDim::new_1d(1), unsafe {
                BufferArg::from_raw_parts(h, 1)
            })
        }),
        other => panic!("unknown kernel {other}"),
    }
}
