//! Minimal CubeCL SPIR-V kernels on wgpu's Vulkan backend (lavapipe on a CPU), to find which
//! SPIR-V feature crashes lavapipe: `cubecl-spirv-shared-memory add|atomic-u32|atomic-f32|shared`.
use cubecl::__private::Runtime;
use cubecl::prelude::*;
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

fn main() {
    let which = std::env::args().nth(1).unwrap_or_else(|| "add".into());
    let device = WgpuDevice {
        kind: WgpuDeviceKind::Cpu,
        backend: WgpuBackend::Vulkan,
    };
    let client = <WgpuRuntime as Runtime>::client(&device);
    match which.as_str() {
        "add" => {
            let h = client.create_from_slice(f32::as_bytes(&[1.0, 2.0, 3.0, 4.0]));
            add_one::launch::<f32>(
                &client,
                CubeCount::Static(1, 1, 1),
                CubeDim::new_1d(4),
                unsafe { BufferArg::from_raw_parts(h.clone(), 4) },
            );
            println!("{:?}", f32::from_bytes(&client.read_one_unchecked(h)));
        }
        "atomic-u32" => {
            let h = client.create_from_slice(u32::as_bytes(&[12]));
            atomic_add::launch::<u32>(
                &client,
                CubeCount::Static(1, 1, 1),
                CubeDim::new_1d(4),
                unsafe { BufferArg::from_raw_parts(h.clone(), 1) },
            );
            println!("{:?}", u32::from_bytes(&client.read_one_unchecked(h)));
        }
        "atomic-f32" => {
            let h = client.create_from_slice(f32::as_bytes(&[12.0]));
            atomic_add::launch::<f32>(
                &client,
                CubeCount::Static(1, 1, 1),
                CubeDim::new_1d(4),
                unsafe { BufferArg::from_raw_parts(h.clone(), 1) },
            );
            println!("{:?}", f32::from_bytes(&client.read_one_unchecked(h)));
        }
        "shared" => {
            let h = client.create_from_slice(f32::as_bytes(&[0.0]));
            shared_slice::launch::<f32>(
                &client,
                CubeCount::Static(1, 1, 1),
                CubeDim::new_1d(1),
                unsafe { BufferArg::from_raw_parts(h.clone(), 1) },
            );
            println!("{:?}", f32::from_bytes(&client.read_one_unchecked(h)));
        }
        other => panic!("unknown kernel {other}"),
    }
}
