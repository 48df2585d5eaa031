//! Device choice and the one function that turns it into a candle [`Device`].

use std::fmt;
use std::str::FromStr;

use candle_core::Device;
use serde::{Deserialize, Serialize};

/// Which device the user asked for (`--device`, the device picker in the GUI).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub enum DeviceChoice {
    /// The best available: CUDA, then Metal, then CPU.
    #[default]
    Auto,
    /// The CPU.
    Cpu,
    /// An NVIDIA GPU by ordinal (`cuda` is `cuda:0`).
    Cuda(usize),
    /// The Apple GPU.
    Metal,
}

/// A device string that is not one of `auto`, `cpu`, `cuda`, `cuda:N`, `metal`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown device '{0}': expected auto, cpu, cuda, cuda:N or metal")]
pub struct ParseDeviceError(pub String);

impl FromStr for DeviceChoice {
    type Err = ParseDeviceError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let lower = s.trim().to_ascii_lowercase();
        match lower.as_str() {
            "auto" => Ok(Self::Auto),
            "cpu" => Ok(Self::Cpu),
            "cuda" | "gpu" => Ok(Self::Cuda(0)),
            "metal" | "mps" => Ok(Self::Metal),
            other => other
                .strip_prefix("cuda:")
                .and_then(|n| n.parse::<usize>().ok())
                .map(Self::Cuda)
                .ok_or_else(|| ParseDeviceError(s.to_owned())),
        }
    }
}

impl fmt::Display for DeviceChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Auto => f.write_str("auto"),
            Self::Cpu => f.write_str("cpu"),
            Self::Cuda(0) => f.write_str("cuda"),
            Self::Cuda(n) => write!(f, "cuda:{n}"),
            Self::Metal => f.write_str("metal"),
        }
    }
}

impl From<DeviceChoice> for String {
    fn from(d: DeviceChoice) -> Self {
        d.to_string()
    }
}

impl TryFrom<String> for DeviceChoice {
    type Error = ParseDeviceError;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

/// The device actually used, a short label for display and, when the choice could not
/// be honoured, a notice saying why (to be shown to the user, never swallowed).
#[derive(Debug, Clone)]
pub struct SelectedDevice {
    /// The candle device.
    pub device: Device,
    /// "CPU", "CUDA:0", "Metal".
    pub label: String,
    /// Why the device differs from what was asked for, if it does.
    pub notice: Option<String>,
}

impl SelectedDevice {
    fn cpu(notice: Option<String>) -> Self {
        Self { device: Device::Cpu, label: "CPU".to_owned(), notice }
    }
}

/// Turns a [`DeviceChoice`] into a device. Never fails: when a GPU is asked for but
/// the feature is not compiled in, or the GPU or its libraries are missing, it falls
/// back to the CPU and says so in [`SelectedDevice::notice`].
pub fn select_device(choice: DeviceChoice) -> SelectedDevice {
    match choice {
        DeviceChoice::Cpu => SelectedDevice::cpu(None),
        DeviceChoice::Cuda(ordinal) => match try_cuda(ordinal) {
            Ok(device) => SelectedDevice { device, label: format!("CUDA:{ordinal}"), notice: None },
            Err(why) => SelectedDevice::cpu(Some(format!("CUDA:{ordinal} unavailable ({why}); using CPU"))),
        },
        DeviceChoice::Metal => match try_metal() {
            Ok(device) => SelectedDevice { device, label: "Metal".to_owned(), notice: None },
            Err(why) => SelectedDevice::cpu(Some(format!("Metal unavailable ({why}); using CPU"))),
        },
        DeviceChoice::Auto => {
            let cuda = try_cuda(0);
            if let Ok(device) = cuda {
                return SelectedDevice { device, label: "CUDA:0".to_owned(), notice: None };
            }
            let metal = try_metal();
            if let Ok(device) = metal {
                return SelectedDevice { device, label: "Metal".to_owned(), notice: None };
            }
            let why = match (cfg!(feature = "cuda"), cfg!(feature = "metal"), cuda, metal) {
                (true, _, Err(e), _) => format!("no usable CUDA GPU: {e}"),
                (_, true, _, Err(e)) => format!("no usable Metal GPU: {e}"),
                _ => "this build has no GPU support (build with --features cuda or metal)".to_owned(),
            };
            SelectedDevice::cpu(Some(format!("{why}; using CPU")))
        }
    }
}

#[cfg(feature = "cuda")]
fn try_cuda(ordinal: usize) -> Result<Device, String> {
    // cudarc panics instead of returning an error when a CUDA library cannot be loaded.
    let attempt =
        std::panic::catch_unwind(|| {
            let device = Device::new_cuda(ordinal)?;
            // Touch the device once so that missing cuBLAS/cuRAND surface here, not later.
            candle_core::Tensor::zeros((2, 2), candle_core::DType::F32, &device)?
                .matmul(&candle_core::Tensor::zeros((2, 2), candle_core::DType::F32, &device)?)?;
            Ok::<Device, candle_core::Error>(device)
        });
    match attempt {
        Ok(Ok(device)) => Ok(device),
        Ok(Err(e)) => Err(first_line(&e.to_string())),
        Err(payload) => {
            Err(format!("CUDA libraries failed to load: {}", first_line(&crate::jobs::panic_message(payload.as_ref()))))
        }
    }
}

#[cfg(not(feature = "cuda"))]
fn try_cuda(_ordinal: usize) -> Result<Device, String> {
    Err("this build has no CUDA support; rebuild with --features cuda".to_owned())
}

#[cfg(feature = "metal")]
fn try_metal() -> Result<Device, String> {
    match std::panic::catch_unwind(|| Device::new_metal(0)) {
        Ok(Ok(device)) => Ok(device),
        Ok(Err(e)) => Err(first_line(&e.to_string())),
        Err(payload) => Err(first_line(&crate::jobs::panic_message(payload.as_ref()))),
    }
}

#[cfg(not(feature = "metal"))]
fn try_metal() -> Result<Device, String> {
    Err("this build has no Metal support; rebuild with --features metal".to_owned())
}

#[cfg(any(feature = "cuda", feature = "metal"))]
use super::error::first_line;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_device_strings() {
        let cases = [
            ("auto", DeviceChoice::Auto, "auto"),
            ("CPU", DeviceChoice::Cpu, "cpu"),
            ("cuda", DeviceChoice::Cuda(0), "cuda"),
            ("cuda:1", DeviceChoice::Cuda(1), "cuda:1"),
            ("metal", DeviceChoice::Metal, "metal"),
        ];
        for (input, parsed, shown) in cases {
            assert_eq!(input.parse::<DeviceChoice>(), Ok(parsed));
            assert_eq!(parsed.to_string(), shown);
        }
        assert!("tpu".parse::<DeviceChoice>().is_err());
        assert!("cuda:x".parse::<DeviceChoice>().is_err());
    }

    #[test]
    fn serde_uses_the_cli_spelling() {
        let json = serde_json::to_string(&DeviceChoice::Cuda(1)).unwrap();
        assert_eq!(json, "\"cuda:1\"");
        let back: DeviceChoice = serde_json::from_str("\"metal\"").unwrap();
        assert_eq!(back, DeviceChoice::Metal);
        assert!(serde_json::from_str::<DeviceChoice>("\"nope\"").is_err());
    }

    #[test]
    fn cpu_is_always_cpu_without_notice() {
        let d = select_device(DeviceChoice::Cpu);
        assert!(d.device.is_cpu());
        assert_eq!(d.label, "CPU");
        assert_eq!(d.notice, None);
    }

    #[cfg(not(any(feature = "cuda", feature = "metal")))]
    #[test]
    fn gpu_choices_fall_back_to_cpu_with_notice_in_a_cpu_build() {
        for choice in [DeviceChoice::Auto, DeviceChoice::Cuda(0), DeviceChoice::Metal] {
            let d = select_device(choice);
            assert!(d.device.is_cpu(), "{choice}");
            assert_eq!(d.label, "CPU");
            let notice = d.notice.unwrap_or_default();
            assert!(notice.contains("using CPU"), "{choice}: {notice}");
        }
    }
}
