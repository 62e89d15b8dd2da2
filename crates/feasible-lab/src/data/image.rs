//! Photographs, read from PNG files and shrunk by averaging blocks.

use std::path::{Path, PathBuf};

use super::error::DataError;
use super::locations;

/// Where `feasible data fetch` puts downloaded data: `downloads` in the data
/// directory found at run time (see [`locations::data_dir`]), or
/// `FEASIBLE_DOWNLOADS`.
pub fn downloads() -> PathBuf {
    locations::downloads_in(&locations::data_dir())
}

/// A photograph of the L0onie experiment (`astronaut`, `chelsea`,
/// `coffee`), in [`downloads`].
pub fn photo_path(name: &str) -> PathBuf {
    locations::photo_in(&downloads(), name)
}

/// How to get them, for error messages.
pub const HINT: &str = "run `feasible data fetch` (`cargo run --release -p feasible-lab -- data fetch`, or scripts/fetch-data.sh): it extracts skimage/data/astronaut.png, chelsea.png and coffee.png from the PyPI wheel scikit-image==0.24.0";

/// An RGB image with values in `[0, 1]`, row-major.
#[derive(Clone, Debug, PartialEq)]
pub struct Image {
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// `width · height` pixels.
    pub pixels: Vec<[f32; 3]>,
}

impl Image {
    /// Reads an 8-bit RGB or RGBA PNG file (alpha is dropped).
    pub fn read_png(path: &Path) -> Result<Image, DataError> {
        let malformed = |reason: String| DataError::Malformed {
            path: path.to_path_buf(),
            location: "byte 0".to_string(),
            reason,
        };
        let file = std::fs::File::open(path).map_err(|e| DataError::io(path, e, HINT))?;
        let mut reader = png::Decoder::new(std::io::BufReader::new(file))
            .read_info()
            .map_err(|e| malformed(format!("not a readable PNG file: {e}")))?;
        let mut buffer = vec![0; reader.output_buffer_size().unwrap_or(0)];
        let info = reader
            .next_frame(&mut buffer)
            .map_err(|e| malformed(format!("cannot decode the image: {e}")))?;
        let channels = match (info.color_type, info.bit_depth) {
            (png::ColorType::Rgb, png::BitDepth::Eight) => 3,
            (png::ColorType::Rgba, png::BitDepth::Eight) => 4,
            (color, depth) => return Err(malformed(format!("{color:?} at {depth:?}: only 8-bit RGB(A) is read"))),
        };
        let (width, height) = (info.width as usize, info.height as usize);
        let pixels = buffer[..width * height * channels]
            .chunks_exact(channels)
            .map(|p| [p[0] as f32 / 255.0, p[1] as f32 / 255.0, p[2] as f32 / 255.0])
            .collect();
        Ok(Image { width, height, pixels })
    }

    /// The central `side × side` square (the whole image where it is
    /// smaller in a direction).
    pub fn center_crop(&self, side: usize) -> Image {
        let (width, height) = (side.min(self.width), side.min(self.height));
        let (left, top) = ((self.width - width) / 2, (self.height - height) / 2);
        let pixels = (top..top + height)
            .flat_map(|y| {
                self.pixels[y * self.width + left..y * self.width + left + width]
                    .iter()
                    .copied()
            })
            .collect();
        Image { width, height, pixels }
    }

    /// The image shrunk by `factor` in both directions, each new pixel the
    /// mean of a `factor × factor` block.
    pub fn shrink(&self, factor: usize) -> Image {
        let factor = factor.max(1);
        let (width, height) = (self.width / factor, self.height / factor);
        let mut pixels = Vec::with_capacity(width * height);
        for y in 0..height {
            for x in 0..width {
                let mut sum = [0.0f32; 3];
                for dy in 0..factor {
                    for dx in 0..factor {
                        let p = self.pixels[(y * factor + dy) * self.width + x * factor + dx];
                        for c in 0..3 {
                            sum[c] += p[c];
                        }
                    }
                }
                let n = (factor * factor) as f32;
                pixels.push([sum[0] / n, sum[1] / n, sum[2] / n]);
            }
        }
        Image { width, height, pixels }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shrinking_averages_blocks() {
        let image = Image {
            width: 2,
            height: 2,
            pixels: vec![[0.0, 0.0, 0.0], [1.0, 0.5, 0.0], [0.0, 0.5, 1.0], [1.0, 1.0, 1.0]],
        };
        let small = image.shrink(2);
        assert_eq!((small.width, small.height), (1, 1));
        assert_eq!(small.pixels, vec![[0.5, 0.5, 0.5]]);
    }

    #[test]
    fn cropping_keeps_the_central_square() {
        let image = Image {
            width: 4,
            height: 3,
            pixels: (0..12).map(|i| [i as f32, 0.0, 0.0]).collect(),
        };
        let square = image.center_crop(2);
        assert_eq!((square.width, square.height), (2, 2));
        assert_eq!(
            square.pixels.iter().map(|p| p[0]).collect::<Vec<_>>(),
            vec![1.0, 2.0, 5.0, 6.0]
        );
        assert_eq!(image.center_crop(9), image);
    }

    #[test]
    fn a_bad_file_is_named() {
        let dir = std::env::temp_dir().join(format!("feasible-png-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("x.png");
        std::fs::write(&path, b"not a png").unwrap();
        let e = Image::read_png(&path).unwrap_err().to_string();
        assert!(e.contains("x.png") && e.contains("not a readable PNG"), "{e}");
        let missing = Image::read_png(&dir.join("nope.png")).unwrap_err().to_string();
        assert!(
            missing.contains("nope.png: no such file; run `feasible data fetch`"),
            "{missing}"
        );
        std::fs::remove_dir_all(dir).unwrap();
    }
}
