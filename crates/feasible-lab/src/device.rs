//! Which burn device the lab computes on: `--device flex|wgpu|cuda[:N]`.
//!
//! `flex` (burn's pure-Rust CPU backend) is always compiled in and is what
//! the tests and the published numbers use. `wgpu` and `cuda` need the lab's
//! features of the same names; asking for one that is not compiled in is a
//! [`DeviceError::NotCompiled`] naming the feature to enable, never a panic.

use std::fmt;
use std::str::FromStr;

use burn::tensor::Device;
use serde::Serialize;

/// A device as `--device` names it. Parsing never depends on the features:
/// [`DeviceSpec::device`] is what says whether this build can run on it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum DeviceSpec {
    /// burn's flex backend, on the CPU (the default).
    #[default]
    Flex,
    /// The best GPU wgpu finds (Vulkan, Metal or DirectX); feature `wgpu`.
    Wgpu,
    /// The CUDA GPU with this index (`cuda` is `cuda:0`); feature `cuda`.
    Cuda(usize),
}

/// A `--device` that cannot be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DeviceError {
    /// Not one of the device names.
    #[error("unknown device `{0}`; known: flex, wgpu, cuda, cuda:N (N the GPU's index)")]
    Unknown(String),
    /// A device whose backend this binary was built without.
    #[error(
        "device `{device}` needs the `{feature}` feature, which this build lacks; rebuild with \
         `cargo run --release -p feasible-lab --features {feature} -- ...`"
    )]
    NotCompiled {
        /// The device asked for.
        device: DeviceSpec,
        /// The lab feature that compiles its backend in.
        feature: &'static str,
    },
}

impl DeviceSpec {
    /// The devices this build can run on, as `--device` spells them.
    pub fn compiled_in() -> Vec<&'static str> {
        let mut names = vec!["flex"];
        if cfg!(feature = "wgpu") {
            names.push("wgpu");
        }
        if cfg!(feature = "cuda") {
            names.push("cuda[:N]");
        }
        names
    }

    /// The lab feature that compiles this device's backend in (`None` for
    /// flex, always there).
    pub fn feature(self) -> Option<&'static str> {
        match self {
            DeviceSpec::Flex => None,
            DeviceSpec::Wgpu => Some("wgpu"),
            DeviceSpec::Cuda(_) => Some("cuda"),
        }
    }

    /// Whether this build has the device's backend.
    pub fn is_compiled_in(self) -> bool {
        match self {
            DeviceSpec::Flex => true,
            DeviceSpec::Wgpu => cfg!(feature = "wgpu"),
            DeviceSpec::Cuda(_) => cfg!(feature = "cuda"),
        }
    }

    /// `self` if this build has its backend; otherwise the error that names
    /// the feature to enable.
    pub fn check(self) -> Result<Self, DeviceError> {
        match self.feature() {
            Some(feature) if !self.is_compiled_in() => Err(DeviceError::NotCompiled { device: self, feature }),
            _ => Ok(self),
        }
    }

    /// The burn device (without autodiff: add `.autodiff()` to train). The
    /// GPU backends are lazy: a machine without the GPU fails at the first
    /// tensor operation, inside burn.
    pub fn device(self) -> Result<Device, DeviceError> {
        self.check()?;
        Ok(match self {
            DeviceSpec::Flex => Device::flex(),
            #[cfg(feature = "wgpu")]
            DeviceSpec::Wgpu => Device::wgpu(burn::tensor::DeviceKind::DefaultDevice),
            #[cfg(feature = "cuda")]
            DeviceSpec::Cuda(index) => Device::cuda(index),
            #[allow(unreachable_patterns)]
            _ => unreachable!("check() refused the devices that are not compiled in"),
        })
    }
}

impl fmt::Display for DeviceSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeviceSpec::Flex => write!(f, "flex"),
            DeviceSpec::Wgpu => write!(f, "wgpu"),
            DeviceSpec::Cuda(index) => write!(f, "cuda:{index}"),
        }
    }
}

impl FromStr for DeviceSpec {
    type Err = DeviceError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let unknown = || DeviceError::Unknown(s.to_string());
        match s {
            "flex" => Ok(DeviceSpec::Flex),
            "wgpu" => Ok(DeviceSpec::Wgpu),
            "cuda" => Ok(DeviceSpec::Cuda(0)),
            _ => {
                let index = s.strip_prefix("cuda:").ok_or_else(unknown)?;
                // Digits only: `usize::from_str` would take `+1`.
                if index.is_empty() || !index.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(unknown());
                }
                index.parse().map(DeviceSpec::Cuda).map_err(|_| unknown())
            }
        }
    }
}

impl Serialize for DeviceSpec {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for DeviceSpec {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        name.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_device_names_parse_and_print_back() {
        assert_eq!("flex".parse(), Ok(DeviceSpec::Flex));
        assert_eq!("wgpu".parse(), Ok(DeviceSpec::Wgpu));
        assert_eq!("cuda".parse(), Ok(DeviceSpec::Cuda(0)));
        assert_eq!("cuda:3".parse(), Ok(DeviceSpec::Cuda(3)));
        for spec in [DeviceSpec::Flex, DeviceSpec::Wgpu, DeviceSpec::Cuda(2)] {
            assert_eq!(spec.to_string().parse(), Ok(spec));
        }
    }

    #[test]
    fn other_names_are_unknown_devices() {
        for bad in [
            "",
            "bogus",
            "cuda:",
            "cuda:x",
            "cuda:+1",
            "cuda:-1",
            "CUDA",
            "wgpu:0",
            "cuda:99999999999999999999999",
        ] {
            assert_eq!(
                bad.parse::<DeviceSpec>(),
                Err(DeviceError::Unknown(bad.to_string())),
                "{bad}"
            );
        }
    }

    #[test]
    fn a_backend_not_compiled_in_names_its_feature() {
        assert_eq!(DeviceSpec::Flex.check(), Ok(DeviceSpec::Flex));
        if !cfg!(feature = "wgpu") {
            let error = DeviceSpec::Wgpu.device().unwrap_err();
            assert_eq!(
                error,
                DeviceError::NotCompiled {
                    device: DeviceSpec::Wgpu,
                    feature: "wgpu"
                }
            );
            assert!(error.to_string().contains("--features wgpu"), "{error}");
        }
        if !cfg!(feature = "cuda") {
            let error = DeviceSpec::Cuda(1).check().unwrap_err();
            assert!(
                error.to_string().contains("device `cuda:1` needs the `cuda` feature"),
                "{error}"
            );
        }
    }
}
