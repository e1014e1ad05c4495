//! The drawing model of the pad, free of any browser type so it is unit-tested natively:
//! strokes in canvas-relative coordinates (in canvas heights), one active pointer, undo and
//! clear.

use digits_core::preprocess::Stroke;

#[derive(Default, Debug)]
pub struct Pad {
    strokes: Vec<Stroke>,
    /// The pointer drawing the current stroke; other pointers (a second finger) are ignored.
    active: Option<i32>,
}

impl Pad {
    pub fn strokes(&self) -> &[Stroke] {
        &self.strokes
    }

    pub fn is_empty(&self) -> bool {
        self.strokes.is_empty()
    }

    pub fn drawing(&self) -> bool {
        self.active.is_some()
    }

    /// A pointer went down at (x, y); returns whether it starts a stroke.
    pub fn down(&mut self, pointer: i32, x: f32, y: f32) -> bool {
        if self.active.is_some() || !x.is_finite() || !y.is_finite() {
            return false;
        }
        self.active = Some(pointer);
        self.strokes.push(vec![(x, y)]);
        true
    }

    /// The pointer moved; returns the segment to draw if it belongs to the current stroke.
    pub fn moved(&mut self, pointer: i32, x: f32, y: f32) -> Option<((f32, f32), (f32, f32))> {
        if self.active != Some(pointer) || !x.is_finite() || !y.is_finite() {
            return None;
        }
        let stroke = self.strokes.last_mut()?;
        let last = *stroke.last()?;
        if last == (x, y) {
            return None;
        }
        stroke.push((x, y));
        Some((last, (x, y)))
    }

    /// The pointer went up or was cancelled; returns whether that ended the current stroke.
    pub fn up(&mut self, pointer: i32) -> bool {
        if self.active == Some(pointer) {
            self.active = None;
            true
        } else {
            false
        }
    }

    pub fn undo(&mut self) {
        self.active = None;
        self.strokes.pop();
    }

    pub fn clear(&mut self) {
        self.active = None;
        self.strokes.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_pointer_draws_a_second_is_ignored() {
        let mut p = Pad::default();
        assert!(p.down(1, 0.1, 0.1));
        assert!(!p.down(2, 0.5, 0.5), "second finger");
        assert_eq!(p.moved(2, 0.6, 0.6), None);
        assert_eq!(p.moved(1, 0.2, 0.2), Some(((0.1, 0.1), (0.2, 0.2))));
        assert_eq!(p.moved(1, 0.2, 0.2), None, "no zero-length segments");
        assert!(!p.up(2));
        assert!(p.up(1));
        assert_eq!(p.strokes(), &[vec![(0.1, 0.1), (0.2, 0.2)]]);
        assert!(p.down(2, 0.3, 0.3));
        assert!(p.up(2));
        assert_eq!(p.strokes().len(), 2);
        p.undo();
        assert_eq!(p.strokes().len(), 1);
        p.clear();
        assert!(p.is_empty());
        p.undo();
        assert!(p.is_empty());
    }

    #[test]
    fn garbage_coordinates_are_refused() {
        let mut p = Pad::default();
        assert!(!p.down(1, f32::NAN, 0.0));
        assert!(p.down(1, 0.0, 0.0));
        assert_eq!(p.moved(1, f32::INFINITY, 0.0), None);
        assert!(p.drawing());
    }
}
