//! The pad's drawing surface: a canvas whose backing store follows its CSS size times the
//! device pixel ratio, with the strokes drawn on it in canvas-relative coordinates (in canvas
//! heights: 0..1 down, 0..width/height across, so a wide pad keeps round circles round). It only
//! paints; what the strokes are is the [`Pad`](crate::pad::Pad)'s business.

use digits_core::preprocess::Stroke;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::{CanvasRenderingContext2d, HtmlCanvasElement, PointerEvent};

use crate::dom::number;

/// Pen width on screen, as a share of the canvas height.
pub const SCREEN_PEN: f64 = 0.05;
const INK: &str = "#111827";

pub struct Surface {
    canvas: HtmlCanvasElement,
    ctx: CanvasRenderingContext2d,
    /// Size of the canvas in CSS pixels and the device pixel ratio of the backing store.
    css_w: f64,
    css_h: f64,
    dpr: f64,
}

impl Surface {
    pub fn new(canvas: HtmlCanvasElement) -> Result<Surface, JsValue> {
        let ctx = canvas
            .get_context("2d")?
            .ok_or("the browser gave no 2D canvas context")?
            .dyn_into::<CanvasRenderingContext2d>()?;
        Ok(Surface {
            canvas,
            ctx,
            css_w: 0.0,
            css_h: 0.0,
            dpr: 1.0,
        })
    }

    /// Matches the backing store to the canvas's CSS size and the device pixel ratio; returns
    /// whether it changed (the caller then redraws: resizing clears a canvas).
    pub fn fit(&mut self) -> bool {
        let dpr = web_sys::window()
            .map_or(1.0, |w| w.device_pixel_ratio())
            .max(1.0);
        let rect = self.canvas.get_bounding_client_rect();
        let (w, h) = (rect.width().max(1.0), rect.height().max(1.0));
        if (w - self.css_w).abs() < 0.5
            && (h - self.css_h).abs() < 0.5
            && (dpr - self.dpr).abs() < 1e-3
        {
            return false;
        }
        (self.css_w, self.css_h, self.dpr) = (w, h, dpr);
        self.canvas.set_width((w * dpr).round() as u32);
        self.canvas.set_height((h * dpr).round() as u32);
        true
    }

    /// The canvas's size in CSS pixels.
    pub fn size(&self) -> (f64, f64) {
        (self.css_w, self.css_h)
    }

    /// CSS pixels per pad unit (the canvas height).
    pub fn scale(&self) -> f64 {
        self.css_h
    }

    /// A pointer's position relative to the canvas, in canvas heights.
    pub fn position(&self, e: &PointerEvent) -> (f32, f32) {
        let rect = self.canvas.get_bounding_client_rect();
        let unit = rect.height().max(1.0);
        let x = (number(e, "clientX") - rect.left()) / unit;
        let y = (number(e, "clientY") - rect.top()) / unit;
        (x as f32, y as f32)
    }

    fn prepare(&self) {
        let ctx = &self.ctx;
        let _ = ctx.set_transform(self.dpr, 0.0, 0.0, self.dpr, 0.0, 0.0);
        ctx.set_line_cap("round");
        ctx.set_line_join("round");
        ctx.set_line_width(SCREEN_PEN * self.css_h);
        ctx.set_stroke_style_str(INK);
        ctx.set_fill_style_str(INK);
    }

    pub fn segment(&self, a: (f32, f32), b: (f32, f32)) {
        self.prepare();
        let s = self.css_h;
        self.ctx.begin_path();
        self.ctx.move_to(a.0 as f64 * s, a.1 as f64 * s);
        self.ctx.line_to(b.0 as f64 * s, b.1 as f64 * s);
        self.ctx.stroke();
    }

    pub fn dot(&self, x: f32, y: f32) {
        self.prepare();
        let s = self.css_h;
        self.ctx.begin_path();
        let _ = self.ctx.arc(
            x as f64 * s,
            y as f64 * s,
            SCREEN_PEN * s / 2.0,
            0.0,
            std::f64::consts::TAU,
        );
        self.ctx.fill();
    }

    /// Clears the canvas and draws `strokes` again.
    pub fn redraw(&self, strokes: &[Stroke]) {
        let _ = self.ctx.set_transform(1.0, 0.0, 0.0, 1.0, 0.0, 0.0);
        let (w, h) = (self.canvas.width() as f64, self.canvas.height() as f64);
        self.ctx.clear_rect(0.0, 0.0, w, h);
        for stroke in strokes {
            self.stroke(stroke);
        }
    }

    fn stroke(&self, stroke: &Stroke) {
        if stroke.len() == 1 {
            self.dot(stroke[0].0, stroke[0].1);
            return;
        }
        self.prepare();
        let s = self.css_h;
        self.ctx.begin_path();
        for (i, &(x, y)) in stroke.iter().enumerate() {
            if i == 0 {
                self.ctx.move_to(x as f64 * s, y as f64 * s);
            } else {
                self.ctx.line_to(x as f64 * s, y as f64 * s);
            }
        }
        self.ctx.stroke();
    }
}
