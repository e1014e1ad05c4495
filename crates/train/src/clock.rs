//! Seconds since a start, natively and in a browser (where `std::time::Instant` panics): the
//! training loop's only clock.

/// A point in time to measure from.
#[derive(Clone, Copy, Debug)]
pub struct Clock {
    #[cfg(not(target_arch = "wasm32"))]
    start: std::time::Instant,
    #[cfg(target_arch = "wasm32")]
    start_ms: f64,
}

impl Clock {
    pub fn start() -> Clock {
        Clock {
            #[cfg(not(target_arch = "wasm32"))]
            start: std::time::Instant::now(),
            #[cfg(target_arch = "wasm32")]
            start_ms: js_sys::Date::now(),
        }
    }

    /// Seconds since [`Clock::start`].
    pub fn seconds(&self) -> f64 {
        #[cfg(not(target_arch = "wasm32"))]
        {
            self.start.elapsed().as_secs_f64()
        }
        #[cfg(target_arch = "wasm32")]
        {
            (js_sys::Date::now() - self.start_ms) / 1000.0
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn time_goes_forward() {
        let c = super::Clock::start();
        let a = c.seconds();
        std::thread::sleep(std::time::Duration::from_millis(2));
        assert!(c.seconds() > a && a >= 0.0);
    }
}
