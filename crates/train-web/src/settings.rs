//! What the "Train your own" form asks for, checked: the network (a preset or a spec string in
//! the grammar of `digits train --arch`), how many training images, epochs, batch size and
//! learning rate. Every refusal names the field and what it takes. Free of browser types.

use digits_core::CLASSES;
use digits_core::text::grouped;
use digits_train::augment::Augment;
use digits_train::net::{Network, Workspace};
use digits_train::optim::{OptimizerKind, Schedule};
use digits_train::train::{SHARD, TrainConfig};

/// A network the form offers by name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Preset {
    /// Its `<option value>`.
    pub id: &'static str,
    pub arch: &'static str,
    /// Its name in the form (its parameter count is added).
    pub name: &'static str,
}

/// The page's own CNN, the network of the Keras tutorial the project started from (Keras'
/// `mnist_cnn`, the same layers as PyTorch's MNIST example), and a plain fully connected one.
pub const PRESETS: [Preset; 3] = [
    Preset {
        id: "page",
        arch: digits_train::DEFAULT_ARCH,
        name: "This page's CNN",
    },
    Preset {
        id: "keras",
        arch: digits_train::PYTORCH_ARCH,
        name: "The Keras tutorial's CNN (slower)",
    },
    Preset {
        id: "plain",
        arch: digits_train::MLP_ARCH,
        name: "A plain network, no convolutions",
    },
];

/// The MNIST training set's size; its last [`VALIDATION`] images are held out for validation
/// (as `digits train --val 1000` does), so at most this minus them train.
pub const TRAINING_SET: usize = 60_000;
pub const VALIDATION: usize = 1_000;
pub const MAX_IMAGES: usize = TRAINING_SET - VALIDATION;
pub const MAX_EPOCHS: usize = 50;
pub const MAX_BATCH: usize = 1024;
/// Above this the optimizer diverges on every network we tried; a typo, not a setting.
pub const MAX_LR: f32 = 1.0;
/// What a training run may take of the device's memory: the parameters with their gradient
/// and optimizer moments in the page, and in each worker the data, the parameters and one
/// shard's workspace. Browsers give a tab far less than wasm32's 4 GiB.
pub const MAX_MEMORY: usize = 1 << 30;

/// The quick run the form starts with: about a minute on a 2-core machine.
pub const DEFAULT_IMAGES: usize = 10_000;
pub const DEFAULT_EPOCHS: usize = 1;
pub const DEFAULT_BATCH: usize = 64;
/// Higher than the command line's 0.005 (made for 20 epochs): one short epoch learns more with
/// it (measured natively on 10,000 images in batches of 64: 96.2% on the test set).
pub const DEFAULT_LR: f32 = 0.02;
pub const SEED: u64 = 1;
/// Label smoothing, as the command line's default: off.
pub const SMOOTHING: f32 = 0.0;

/// The form's network choices as `<option>`s: each preset with its parameter count, then a
/// custom spec.
pub fn preset_options() -> String {
    let mut html = String::new();
    for p in PRESETS {
        let params = Network::new(p.arch, SEED).map_or(0, |n| n.param_count());
        html.push_str(&format!(
            r#"<option value="{}">{} ({} parameters)</option>"#,
            p.id,
            p.name,
            grouped(params as u64)
        ));
    }
    html.push_str(r#"<option value="custom">Your own layers…</option>"#);
    html
}

/// A run the page can start.
#[derive(Clone, Debug, PartialEq)]
pub struct Settings {
    pub arch: String,
    /// Training images: the first this many of the training set.
    pub images: usize,
    pub epochs: usize,
    pub batch: usize,
    pub lr: f32,
}

/// The form's fields as the user left them.
#[derive(Clone, Debug, Default)]
pub struct Form<'a> {
    /// A preset's id, or `custom` for `spec`.
    pub preset: &'a str,
    pub spec: &'a str,
    pub images: &'a str,
    pub epochs: &'a str,
    pub batch: &'a str,
    pub lr: &'a str,
}

impl Settings {
    /// Reads and checks the form for a run on `workers` workers.
    pub fn from_form(form: &Form<'_>, workers: usize) -> Result<Settings, String> {
        let arch = match PRESETS.iter().find(|p| p.id == form.preset) {
            Some(p) => p.arch.to_string(),
            None if form.preset == "custom" => form.spec.trim().to_string(),
            None => return Err(format!("Network: no preset called '{}'", form.preset)),
        };
        let images = count(form.images, "Training images", 100, MAX_IMAGES)?;
        let epochs = count(form.epochs, "Epochs", 1, MAX_EPOCHS)?;
        let batch = count(form.batch, "Batch size", 1, MAX_BATCH)?;
        let lr = match form.lr.trim().parse::<f32>() {
            Ok(v) if v.is_finite() && v > 0.0 && v <= MAX_LR => v,
            _ => {
                return Err(format!(
                    "Learning rate: expected a number above 0 and at most {MAX_LR} (such as 0.005), got '{}'",
                    form.lr.trim()
                ));
            }
        };
        let s = Settings {
            arch,
            images,
            epochs,
            batch,
            lr,
        };
        if s.network()?.has_doubt() {
            return Err(format!(
                "Network spec: it ends with fc{}, a \"not one digit\" output, which learns from pieces of numbers this page does not make; end it with fc{} instead",
                CLASSES + 1,
                CLASSES
            ));
        }
        s.check_memory(workers)?;
        Ok(s)
    }

    /// The network it trains, or why the spec is not one.
    pub fn network(&self) -> Result<Network, String> {
        Network::new(&self.arch, SEED).map_err(|e| {
            let text = e.to_string();
            let text = text.strip_prefix("--arch: ").unwrap_or(&text);
            format!("Network spec: {text}")
        })
    }

    /// Refuses a run whose memory (estimated before anything is allocated) would pass
    /// [`MAX_MEMORY`] with `workers` workers.
    pub fn check_memory(&self, workers: usize) -> Result<(), String> {
        let net = self.network()?;
        let params = net.param_count().saturating_mul(4);
        let data = TRAINING_SET * (digits_core::PIXELS + 1) + 10_000 * (digits_core::PIXELS + 1);
        let per_worker = data
            .saturating_add(Workspace::bytes(&net, SHARD))
            .saturating_add(params.saturating_mul(2));
        // The page: the parameters, the summed gradient, two moments, one result per shard.
        let page = params.saturating_mul(4 + self.batch.div_ceil(SHARD));
        let needed = per_worker
            .saturating_mul(workers.max(1))
            .saturating_add(page);
        if needed > MAX_MEMORY {
            return Err(format!(
                "Network: training it in batches of {} would need about {} MB of memory, more than the {} MB this page allows; choose a smaller network or batch",
                self.batch,
                needed.div_ceil(1 << 20),
                MAX_MEMORY >> 20
            ));
        }
        Ok(())
    }

    /// The trainer's configuration: the command line's defaults (AdamW, one-cycle schedule,
    /// weight decay 5e-4, the default augmentation, scans only) with these settings.
    pub fn config(&self) -> TrainConfig {
        TrainConfig {
            arch: self.arch.clone(),
            epochs: self.epochs,
            batch: self.batch,
            lr: self.lr,
            seed: SEED,
            threads: 1,
            optimizer: OptimizerKind::Adamw,
            schedule: Schedule::Onecycle,
            weight_decay: 5e-4,
            smoothing: SMOOTHING,
            augment: Augment::DEFAULT,
            pen: 0.0,
            pen_warp: false,
            average_last: 0,
            not_digits: 0.0,
            progress: false,
        }
    }

    /// Optimizer steps in the whole run.
    pub fn steps(&self) -> usize {
        self.images.div_ceil(self.batch) * self.epochs
    }
}

fn count(text: &str, field: &str, lo: usize, hi: usize) -> Result<usize, String> {
    let cleaned: String = text
        .trim()
        .chars()
        .filter(|c| *c != ',' && *c != '_')
        .collect();
    match cleaned.parse::<usize>() {
        Ok(v) if (lo..=hi).contains(&v) => Ok(v),
        _ => Err(format!(
            "{field}: expected a whole number from {} to {}, got '{}'",
            grouped(lo as u64),
            grouped(hi as u64),
            text.trim()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form<'a>(preset: &'a str, spec: &'a str) -> Form<'a> {
        Form {
            preset,
            spec,
            images: "10,000",
            epochs: "1",
            batch: "64",
            lr: "0.02",
        }
    }

    #[test]
    fn a_doubt_output_is_refused_in_words_for_the_page() {
        let e = Settings::from_form(&form("custom", "flatten,fc11"), 2).unwrap_err();
        assert!(e.starts_with("Network spec: it ends with fc11"), "{e}");
        assert!(e.contains("end it with fc10") && !e.contains("--"), "{e}");
    }

    #[test]
    fn every_preset_builds_and_fits() {
        for p in PRESETS {
            let s = Settings::from_form(&form(p.id, ""), 4).unwrap();
            assert_eq!(s.arch, p.arch);
            assert_eq!(s.images, 10_000);
            s.network().unwrap();
            assert!(s.config().check().is_ok());
        }
    }

    #[test]
    fn a_custom_spec_is_the_command_lines_grammar() {
        let s = Settings::from_form(&form("custom", " conv8k3,relu,gap,fc10 "), 2).unwrap();
        assert_eq!(s.arch, "conv8k3,relu,gap,fc10");
        let e = Settings::from_form(&form("custom", "conv8k3,relu,gap,fc9"), 2).unwrap_err();
        assert!(e.starts_with("Network spec: "), "{e}");
        assert!(e.contains("expected 10"), "{e}");
        let e = Settings::from_form(&form("custom", "conv8k3,banana"), 2).unwrap_err();
        assert!(e.contains("`banana` is not a layer"), "{e}");
        assert!(!e.contains("--arch"), "{e}");
        let e = Settings::from_form(&form("custom", ""), 2).unwrap_err();
        assert!(e.contains("empty"), "{e}");
        let e = Settings::from_form(&form("mystery", ""), 2).unwrap_err();
        assert!(e.contains("no preset called 'mystery'"), "{e}");
    }

    #[test]
    fn absurd_numbers_are_refused_by_field() {
        let cases = [
            ("images", "0", "Training images"),
            ("images", "60000", "Training images"),
            ("images", "lots", "Training images"),
            ("epochs", "0", "Epochs"),
            ("epochs", "-1", "Epochs"),
            ("batch", "0", "Batch size"),
            ("batch", "100000", "Batch size"),
            ("lr", "-0.1", "Learning rate"),
            ("lr", "0", "Learning rate"),
            ("lr", "NaN", "Learning rate"),
            ("lr", "inf", "Learning rate"),
            ("lr", "5", "Learning rate"),
        ];
        for (field, value, name) in cases {
            let mut f = form("page", "");
            match field {
                "images" => f.images = value,
                "epochs" => f.epochs = value,
                "batch" => f.batch = value,
                _ => f.lr = value,
            }
            let e = Settings::from_form(&f, 2).unwrap_err();
            assert!(e.starts_with(name), "{field}={value}: {e}");
            assert!(e.contains(&format!("'{value}'")), "{e}");
        }
    }

    #[test]
    fn a_network_too_large_for_the_device_is_refused_before_allocating() {
        // Within the spec's own limits (under 10 million parameters), but a batch of 1024 keeps
        // 32 shard gradients of 38 MB each.
        let spec = "flatten,fc2000,relu,fc2000,relu,fc2000,relu,fc10";
        let mut f = form("custom", spec);
        f.batch = "1024";
        let e = Settings::from_form(&f, 4).unwrap_err();
        assert!(e.contains("MB of memory"), "{e}");
    }

    #[test]
    fn the_options_name_every_preset_with_its_size() {
        let html = preset_options();
        assert!(
            html.contains(r#"<option value="page">This page's CNN (33,482 parameters)</option>"#),
            "{html}"
        );
        assert!(html.contains("(203,530 parameters)"), "{html}");
        assert!(html.ends_with(r#"<option value="custom">Your own layers…</option>"#));
        assert_eq!(html.matches("<option").count(), PRESETS.len() + 1);
    }

    #[test]
    fn steps_count_the_last_partial_batch() {
        let s = Settings::from_form(&form("page", ""), 1).unwrap();
        assert_eq!(s.steps(), 157);
    }
}
