//! Reading a whole number: cutting a drawing (strokes, on the page) or a picture (ink, on the
//! command line) into digits, left to right.
//!
//! Recognition-based: the drawing is split into pieces in left-to-right order (its strokes, a
//! wide one also cut where a vertical line crosses it once; a picture's ink is first traced
//! into lines that break at every junction, so two digits whose ink touches are apart where
//! they meet), every run of consecutive pieces that could be one digit is read by the model, and dynamic programming picks the sequence of runs whose readings are
//! most confident and whose widths, heights, gaps and overlaps look most like written digits
//! ([`Priors`]). A run of every piece is the drawing read whole, exactly as a lone digit is read.
//! It never runs a model itself: the caller passes its classifier.

use std::collections::HashMap;
use std::ops::Range;

use crate::prediction::Prediction;
use crate::preprocess::{Ink, Stroke, rasterize_strokes, to_mnist};
use crate::{CLASSES, PIXELS};

/// The model's ten probabilities for one input.
pub type Probabilities = [f32; CLASSES];

/// A classifier: the answer for one 28x28 input, taken apart, or `None` when there is no answer
/// (no model yet, or it failed). The reader weighs its `probabilities` (the model's output);
/// each digit it finds keeps the whole answer, so nothing is read twice.
pub type Classify<'a> = dyn FnMut(&[f32]) -> Option<Prediction> + 'a;

/// An axis-aligned box, in the drawing's units (pad units or picture pixels).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rect {
    pub x0: f32,
    pub y0: f32,
    pub x1: f32,
    pub y1: f32,
}

impl Rect {
    pub fn width(&self) -> f32 {
        self.x1 - self.x0
    }

    pub fn height(&self) -> f32 {
        self.y1 - self.y0
    }

    pub fn union(&self, o: &Rect) -> Rect {
        Rect {
            x0: self.x0.min(o.x0),
            y0: self.y0.min(o.y0),
            x1: self.x1.max(o.x1),
            y1: self.y1.max(o.y1),
        }
    }

    fn centre_x(&self) -> f32 {
        (self.x0 + self.x1) / 2.0
    }

    /// How far the two boxes' x-extents overlap (0 if they do not).
    fn x_overlap(&self, o: &Rect) -> f32 {
        (self.x1.min(o.x1) - self.x0.max(o.x0)).max(0.0)
    }

    /// The box of points, or `None` if there are none.
    pub fn of_points<'a>(points: impl Iterator<Item = &'a (f32, f32)>) -> Option<Rect> {
        points.fold(None, |r: Option<Rect>, &(x, y)| {
            let p = Rect {
                x0: x,
                y0: y,
                x1: x,
                y1: y,
            };
            Some(r.map_or(p, |r| r.union(&p)))
        })
    }
}

/// One digit found in a drawing.
#[derive(Clone, Debug, PartialEq)]
pub struct Digit {
    /// Where its ink is: the box of its stroke points (pad units) or of its pixels (picture
    /// pixels, right and bottom edges exclusive).
    pub rect: Rect,
    /// What the model saw: the 28x28 input.
    pub input: Vec<f32>,
    /// The model's answer, taken apart; `None` if it gave none.
    pub prediction: Option<Prediction>,
    /// The strokes (indices into the drawing) with ink in this digit, ascending; empty for a
    /// picture.
    pub strokes: Vec<usize>,
}

impl Digit {
    /// The digit read, if the model answered.
    pub fn digit(&self) -> Option<usize> {
        crate::metrics::argmax(&self.probabilities()?)
    }

    /// The model's output for it (what the reader weighed), if the model answered.
    pub fn probabilities(&self) -> Option<Probabilities> {
        self.prediction.map(|p| p.probabilities)
    }
}

/// The digits of a reading as a string ("2026"); a digit the model gave no answer for is "?".
pub fn number(digits: &[Digit]) -> String {
    digits
        .iter()
        .map(|d| {
            d.digit()
                .and_then(|v| char::from_digit(v as u32, 10))
                .unwrap_or('?')
        })
        .collect()
}

/// How runs of pieces are scored. A run's score is the log of the model's confidence plus
/// `one_digit` times the log of its doubt output's "one digit", plus `digit_bonus`, minus the
/// penalties below (each a multiple of how far past its limit the run is, in line heights: the
/// tallest piece's height); two neighbouring runs whose x-extents overlap pay `overlap` per
/// line height of overlap.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Priors {
    /// Added for each digit: balances the sum of log-confidences, which favours fewer digits.
    pub digit_bonus: f32,
    /// A digit is at most this wide (in line heights) before it pays `too_wide`.
    pub max_width: f32,
    pub too_wide: f32,
    /// A digit is at least this tall (in line heights) before it pays `too_short`.
    pub min_height: f32,
    pub too_short: f32,
    /// Per line height of empty space between the pieces of one digit (the longest jump needed
    /// to connect them all).
    pub inner_gap: f32,
    /// Paid by two neighbouring digits whose lines cross (a 4's bar and its stem do; two digits
    /// next to each other hardly ever).
    pub cross: f32,
    /// Paid by two neighbouring digits whose ink touches (a digit's own strokes touch; two
    /// digits seldom do), less as they are farther apart, nothing past [`TOUCH`] line heights.
    pub touch: f32,
    /// Per line height of x-overlap between neighbouring digits.
    pub overlap: f32,
    /// A stroke (or a picture's traced line) at least this many line heights wide may hold
    /// two digits: it is cut
    /// too (infinite: never).
    pub cut_width: f32,
    /// Added when the whole drawing is read as one digit: a lone digit split in two is the
    /// mistake that costs most (every single-digit reading used to be right there).
    pub whole: f32,
    /// Only a drawing that is one stroke or blob gets `whole` (pictures: a lone digit is one
    /// blob traced into many lines; two blobs apart are two digits as often as not).
    pub whole_one_source: bool,
    /// Added for each cut a reading keeps (a digit that ends or starts inside a stroke).
    pub cut_cost: f32,
    /// At most this many pieces make one digit (a picture's traced lines break at every
    /// junction: an 8 is several).
    pub max_pieces: usize,
    /// Times the log of the doubt output's "one digit" ([`Prediction::one_digit`]), added to a
    /// run's score (0 for a model without one). The doubt already flattens a run's
    /// probabilities, but only down to the even 10%: a picture's merged neighbours that the
    /// network still reads as one fairly sure digit pay for the doubt once more.
    pub one_digit: f32,
}

impl Default for Priors {
    fn default() -> Priors {
        Priors::strokes()
    }
}

impl Priors {
    /// For drawings made of strokes (the page). Chosen by a search on numbers written with
    /// MNIST training digits (`cargo run --release -p digits-train --example tune_numbers`).
    pub fn strokes() -> Priors {
        Priors {
            digit_bonus: 0.46,
            max_width: 0.9,
            too_wide: 3.47,
            min_height: 0.55,
            too_short: 13.5,
            inner_gap: 5.0,
            // The search preferred about 1 (neighbours in the benchmark cross now and then, and
            // its traced digits never cross themselves); 2 keeps a pen-written 4 or a crossed 7
            // whole, for 0.3 points of the benchmark.
            cross: 2.0,
            touch: 0.44,
            overlap: 2.25,
            cut_width: 0.35,
            cut_cost: 1.2,
            whole: 0.25,
            whole_one_source: false,
            max_pieces: 8,
            // 0.25 read training numbers a little worse on the pad (right count 99.21%
            // against 99.24%, `tune_numbers drawn 4000 --seeds 3`).
            one_digit: 0.0,
        }
    }

    /// For pictures (the command line), whose traced lines are read as the pad's strokes are.
    /// A picture that is one blob gets a larger `whole`: a lone digit traced into many lines
    /// could be read as several digits, each line a confident 1 or 0.
    pub fn pictures() -> Priors {
        Priors {
            whole: 1.4,
            whole_one_source: true,
            max_pieces: 14,
            one_digit: 0.25,
            ..Priors::strokes()
        }
    }
}

/// Overlaps are measured against the narrower digit, but at least this many line heights
/// wide (a 1 is a line).
const NARROW: f32 = 0.25;
/// Ink closer than this many line heights touches (see [`Priors::touch`]).
pub const TOUCH: f32 = 0.015;
/// A run wider than this many line heights is never one digit (unless it is one piece).
const MAX_RUN_WIDTH: f32 = 1.8;
/// Ink at or below this is left out of a picture's blobs (a photo's faint noise, the edges of
/// anti-aliased lines): it would join what is not joined.
const BLOB_INK: f32 = 0.2;
/// A blob narrower and shorter than this share of the picture's height is a speck (dust, a dot
/// of noise): it is left out of the lines (the picture read whole keeps it).
const SPECK: f32 = 0.12;
/// A picture's lines are traced on a grid where its line of digits is this many grid pixels
/// tall (the tracer's constants suit an MNIST digit's 20 pixels traced four times as fine).
const TRACE_LINE: f32 = 80.0;
/// The most grid pixels a picture is traced on (a very flat, wide picture is traced coarser).
const TRACE_MAX_GRID: f32 = 4.0e6;
/// No cut closer than this many line heights to a piece's side.
const CUT_MARGIN: f32 = 0.12;
/// Cuts through one stroke are at least this many line heights apart.
const CUT_APART: f32 = 0.3;
/// At most this many cuts through one stroke.
const MAX_CUTS: usize = 3;
/// What segmentation needs from a drawing: pieces in left-to-right order.
trait Pieces {
    fn rects(&self) -> &[Rect];
    /// A fingerprint of piece `i`'s ink, for the reading cache.
    fn key(&self, i: usize) -> u64;
    /// The model input for pieces `run` drawn together.
    fn input(&self, run: Range<usize>) -> Option<Vec<f32>>;
    /// The source strokes with ink in `run`.
    fn strokes(&self, run: Range<usize>) -> Vec<usize>;
    /// The stroke piece `i` is part of.
    fn source(&self, i: usize) -> usize;
    /// Whether the whole drawing is one stroke (on the pad) or one blob of ink (a picture):
    /// what [`Priors::whole_one_source`] asks for.
    fn one_source(&self) -> bool;
    /// How far apart the ink of pieces `a` and `b` is (0 if they touch), in the drawing's units,
    /// and whether their lines cross.
    fn distance(&self, a: usize, b: usize) -> (f32, bool);
}

/// A cached reading of one run of pieces.
#[derive(Clone, Debug)]
struct Reading {
    input: Option<Vec<f32>>,
    prediction: Option<Prediction>,
}

/// Reads numbers, keeping the readings of runs of pieces from one call to the next, so a
/// drawing that grows by a stroke only reads the runs that stroke is in.
#[derive(Debug, Default)]
pub struct Reader {
    pub priors: Priors,
    cache: HashMap<u64, Reading>,
    /// How many runs the last call read with the model (the rest came from the cache).
    pub last_reads: usize,
}

impl Reader {
    pub fn new(priors: Priors) -> Reader {
        Reader {
            priors,
            ..Reader::default()
        }
    }

    /// Forgets every cached reading (the model changed).
    pub fn forget(&mut self) {
        self.cache.clear();
    }

    /// The digits of a drawing made of strokes (the pad), left to right; empty if nothing is
    /// drawn.
    pub fn strokes(&mut self, strokes: &[Stroke], classify: &mut Classify) -> Vec<Digit> {
        let pieces = StrokePieces::new(strokes, self.priors.cut_width);
        self.read(&pieces, classify)
    }

    /// The digits of a picture's ink (the command line), left to right, their boxes in the
    /// picture's pixels; empty if it is blank. Its lines are traced into strokes
    /// ([`crate::trace::trace_lines`]) and read as the pad's are, except that every line
    /// read together is the picture read whole, exactly as a lone digit is.
    pub fn ink(&mut self, ink: &Ink, classify: &mut Classify) -> Vec<Digit> {
        let lines = PictureLines::new(ink);
        let pieces = PicturePieces::new(ink, &lines, &self.priors);
        let mut digits = self.read(&pieces, classify);
        for d in &mut digits {
            d.rect = lines.ink_box(&d.rect, ink);
        }
        digits
    }

    fn read(&mut self, pieces: &dyn Pieces, classify: &mut Classify) -> Vec<Digit> {
        let rects = pieces.rects();
        let n = rects.len();
        self.last_reads = 0;
        if n == 0 {
            self.cache.clear();
            return Vec::new();
        }
        let line = line_height(rects);
        let keys: Vec<u64> = (0..n).map(|i| pieces.key(i)).collect();
        let mut fresh = HashMap::new();
        // Every run that could be one digit, read (or taken from the cache).
        let mut runs: HashMap<(usize, usize), (Rect, Reading)> = HashMap::new();
        for_each_run(rects, line, self.priors.max_pieces, |run, rect| {
            let key = keys[run.clone()]
                .iter()
                .fold(0x9e37_79b9_7f4a_7c15u64, |h, &k| {
                    (h ^ k).wrapping_mul(0x0100_0000_01b3).rotate_left(17)
                });
            let reading = match self.cache.get(&key) {
                Some(r) => r.clone(),
                None => {
                    let input = pieces.input(run.clone());
                    let prediction = input.as_deref().and_then(&mut *classify);
                    self.last_reads += input.is_some() as usize;
                    Reading { input, prediction }
                }
            };
            // Only answers are kept: a run the model could not read yet is read again.
            if reading.prediction.is_some() {
                fresh.insert(key, reading.clone());
            }
            runs.insert((run.start, run.end), (rect, reading));
        });
        self.cache = fresh;
        let sources: Vec<usize> = (0..n).map(|i| pieces.source(i)).collect();
        let near = Near::new(n, self.priors.max_pieces, |a, b| pieces.distance(a, b));
        let whole = if !self.priors.whole_one_source || pieces.one_source() {
            self.priors.whole
        } else {
            0.0
        };
        let best = best_runs(n, line, &runs, &near, &sources, whole, &self.priors);
        best.into_iter()
            .map(|run| {
                let (rect, reading) = &runs[&(run.start, run.end)];
                Digit {
                    rect: *rect,
                    input: reading.input.clone().unwrap_or_else(|| vec![0.0; PIXELS]),
                    prediction: reading.prediction,
                    strokes: pieces.strokes(run),
                }
            })
            .collect()
    }
}

/// Every run of consecutive pieces that could be one digit, with its box: at most
/// `most` pieces, and no wider than [`MAX_RUN_WIDTH`] lines unless it is one piece.
fn for_each_run(rects: &[Rect], line: f32, most: usize, mut f: impl FnMut(Range<usize>, Rect)) {
    let n = rects.len();
    for i in 0..n {
        let mut rect = rects[i];
        for j in i + 1..=(i + most).min(n) {
            rect = rect.union(&rects[j - 1]);
            if j > i + 1 && rect.width() > MAX_RUN_WIDTH * line {
                break;
            }
            f(i..j, rect);
        }
    }
}

/// One run of pieces the reader weighs as a digit: its box and the model input it would read.
#[derive(Clone, Debug, PartialEq)]
pub struct Candidate {
    pub rect: Rect,
    pub input: Vec<f32>,
}

/// Every run of pieces [`Reader::strokes`] would read in a drawing, with `priors`' cuts: what
/// the model is shown while a number is read, most of it not one digit (two digits, part of
/// one). The trainer teaches the model to be unsure of those that hold two digits or more
/// (`digits train --not-digits`).
pub fn stroke_candidates(strokes: &[Stroke], priors: &Priors) -> Vec<Candidate> {
    candidates(&StrokePieces::new(strokes, priors.cut_width), priors)
}

/// The same for a picture's ink, as [`Reader::ink`] reads it; each box is its ink's (its
/// lines' grown by half their width), as [`Reader::ink`] gives a digit's.
pub fn ink_candidates(ink: &Ink, priors: &Priors) -> Vec<Candidate> {
    let lines = PictureLines::new(ink);
    let mut out = candidates(&PicturePieces::new(ink, &lines, priors), priors);
    for c in &mut out {
        c.rect = lines.ink_box(&c.rect, ink);
    }
    out
}

fn candidates(pieces: &dyn Pieces, priors: &Priors) -> Vec<Candidate> {
    let rects = pieces.rects();
    let mut out = Vec::new();
    for_each_run(rects, line_height(rects), priors.max_pieces, |run, rect| {
        if let Some(input) = pieces.input(run) {
            out.push(Candidate { rect, input });
        }
    });
    out
}

/// The line height: the drawing's height (a digit of a lone digit; a little more than one for
/// a number with a wandering baseline), or for a flat drawing, half the widest piece.
fn line_height(rects: &[Rect]) -> f32 {
    if rects.is_empty() {
        return f32::MIN_POSITIVE;
    }
    let all = rects.iter().fold(rects[0], |a, r| a.union(r));
    let wide = rects.iter().map(Rect::width).fold(0.0, f32::max);
    all.height().max(wide / 2.0).max(f32::MIN_POSITIVE)
}

/// The distances between pieces at most twice [`Priors::max_pieces`] apart in order (all that a run or two
/// neighbouring runs can hold).
struct Near {
    band: Vec<Vec<(f32, bool)>>,
}

impl Near {
    fn new(n: usize, most: usize, distance: impl Fn(usize, usize) -> (f32, bool)) -> Near {
        Near {
            band: (0..n)
                .map(|a| {
                    (a + 1..(a + 1 + 2 * most).min(n))
                        .map(|b| distance(a, b))
                        .collect()
                })
                .collect(),
        }
    }

    fn get(&self, a: usize, b: usize) -> f32 {
        let (a, b) = (a.min(b), a.max(b));
        if a == b {
            return 0.0;
        }
        self.band[a].get(b - a - 1).map_or(f32::INFINITY, |d| d.0)
    }

    /// Whether any line of run `a` crosses one of run `b`.
    fn cross(&self, a: Range<usize>, b: Range<usize>) -> bool {
        a.flat_map(|x| b.clone().map(move |y| (x, y)))
            .any(|(x, y)| {
                let (lo, hi) = (x.min(y), x.max(y));
                lo != hi && self.band[lo].get(hi - lo - 1).is_some_and(|d| d.1)
            })
    }

    /// The longest jump needed to connect pieces `run` (the largest edge of their minimum
    /// spanning tree; 0 for one piece).
    fn spread(&self, run: Range<usize>) -> f32 {
        let mut reach: Vec<f32> = run.clone().map(|b| self.get(run.start, b)).collect();
        let mut done = vec![false; reach.len()];
        done[0] = true;
        let mut longest: f32 = 0.0;
        for _ in 1..reach.len() {
            let Some((k, d)) = reach
                .iter()
                .enumerate()
                .filter(|(k, _)| !done[*k])
                .min_by(|a, b| a.1.total_cmp(b.1))
                .map(|(k, d)| (k, *d))
            else {
                break;
            };
            done[k] = true;
            longest = longest.max(d);
            for (m, r) in reach.iter_mut().enumerate() {
                *r = r.min(self.get(run.start + k, run.start + m));
            }
        }
        longest
    }

    /// How close the ink of runs `a` and `b` comes.
    fn between(&self, a: Range<usize>, b: Range<usize>) -> f32 {
        a.flat_map(|x| b.clone().map(move |y| (x, y)))
            .map(|(x, y)| self.get(x, y))
            .fold(f32::INFINITY, f32::min)
    }
}

/// The sequence of runs covering pieces 0..n with the best total score: dynamic programming
/// over (start, end) of the last run. `whole` is added when one run holds every piece.
fn best_runs(
    n: usize,
    line: f32,
    runs: &HashMap<(usize, usize), (Rect, Reading)>,
    near: &Near,
    sources: &[usize],
    whole: f32,
    p: &Priors,
) -> Vec<Range<usize>> {
    // Whether a boundary between runs k..i and i..j cuts through a stroke.
    let cuts =
        |k: usize, i: usize, j: usize| sources[k..i].iter().any(|s| sources[i..j].contains(s));
    let score = |i: usize, j: usize| -> Option<f32> {
        let (rect, reading) = runs.get(&(i, j))?;
        reading.input.as_ref()?;
        let confidence = reading.prediction.map_or(0.5, |pr| {
            pr.probabilities.iter().copied().fold(0.0f32, f32::max)
        });
        let one = reading
            .prediction
            .and_then(|pr| pr.one_digit)
            .map_or(0.0, |o| p.one_digit * o.max(1e-6).ln());
        let h = rect.height() / line;
        // Width against the run's own height (a digit is seldom wider than tall), but never
        // against less than half a line (a flat piece is short, not wide).
        let w = rect.width() / (h.max(0.5) * line);
        Some(
            confidence.max(1e-6).ln() + one + p.digit_bonus
                - p.too_wide * (w - p.max_width).max(0.0)
                - p.too_short * (p.min_height - h).max(0.0)
                - p.inner_gap * near.spread(i..j) / line,
        )
    };
    // best[(i, j)]: the best score of pieces 0..j read with i..j as the last digit.
    let mut best: HashMap<(usize, usize), (f32, usize)> = HashMap::new();
    for j in 1..=n {
        for i in j.saturating_sub(p.max_pieces)..j {
            let Some(s) = score(i, j) else { continue };
            let entry = if i == 0 {
                let whole = if j == n { whole } else { 0.0 };
                Some((s + whole, usize::MAX))
            } else {
                let rect = runs[&(i, j)].0;
                (i.saturating_sub(p.max_pieces)..i)
                    .filter_map(|k| {
                        let (prev, _) = best.get(&(k, i))?;
                        let prev_rect = runs[&(k, i)].0;
                        let narrower = prev_rect.width().min(rect.width()).max(NARROW * line);
                        let ov = prev_rect.x_overlap(&rect) / narrower;
                        let (ov, join) = if cuts(k, i, j) {
                            // (A cut stroke's two sides may overlap in x: that is no sign they
                            // are one digit.)
                            (0.0, p.cut_cost)
                        } else {
                            let d = near.between(k..i, i..j) / line;
                            let cross = if near.cross(k..i, i..j) { p.cross } else { 0.0 };
                            (ov, p.touch * (1.0 - d / TOUCH).max(0.0) + cross)
                        };
                        Some((prev + s - p.overlap * ov - join, k))
                    })
                    .max_by(|a, b| a.0.total_cmp(&b.0))
            };
            if let Some(e) = entry {
                best.insert((i, j), e);
            }
        }
    }
    let last = (n.saturating_sub(p.max_pieces)..n)
        .filter_map(|i| Some((best.get(&(i, n))?.0, i)))
        .max_by(|a, b| a.0.total_cmp(&b.0));
    let Some((_, mut i)) = last else {
        // Unreachable (single pieces are always runs), but never panic: one digit per piece.
        return (0..n).map(|i| i..i + 1).collect();
    };
    let mut j = n;
    let mut out = Vec::new();
    loop {
        out.push(i..j);
        let k = best[&(i, j)].1;
        if k == usize::MAX {
            break;
        }
        (i, j) = (k, i);
    }
    out.reverse();
    out
}

/// FNV-1a over 32-bit words.
fn hash_words(words: impl Iterator<Item = u32>) -> u64 {
    words.fold(0xcbf2_9ce4_8422_2325, |h, w| {
        (h ^ w as u64).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The places where a piece spanning `x0..x1` may be cut: the middles of the runs of positions
/// where `cost` (sampled every `step`) is lowest, at least [`CUT_MARGIN`] line heights from
/// either side; the lowest-cost ones first, at most `most`, none closer than `apart` line
/// heights to one taken before; in ascending order.
fn cut_places(
    (x0, x1): (f32, f32),
    line: f32,
    cut_width: f32,
    step: f32,
    (apart, most): (f32, usize),
    cost: impl Fn(f32) -> f32,
) -> Vec<f32> {
    if x1 - x0 < cut_width * line || step <= 0.0 {
        return Vec::new();
    }
    let (a, b) = (x0 + CUT_MARGIN * line, x1 - CUT_MARGIN * line);
    let samples: Vec<(f32, f32)> = (0..)
        .map(|k| a + k as f32 * step)
        .take_while(|&x| x <= b)
        .map(|x| (x, cost(x)))
        .collect();
    // Local minima (plateaus count once, at their middle).
    let mut minima: Vec<(f32, f32)> = Vec::new();
    let mut k = 0;
    while k < samples.len() {
        let mut e = k;
        while e + 1 < samples.len() && samples[e + 1].1 == samples[k].1 {
            e += 1;
        }
        let left_higher = k == 0 || samples[k - 1].1 > samples[k].1;
        let right_higher = e + 1 == samples.len() || samples[e + 1].1 > samples[k].1;
        // (A cost flat all the way across counts too: its middle is as good a place as any.)
        if left_higher && right_higher {
            minima.push(((samples[k].0 + samples[e].0) / 2.0, samples[k].1));
        }
        k = e + 1;
    }
    minima.sort_by(|a, b| a.1.total_cmp(&b.1));
    // The lowest first, none too near one already taken.
    let mut cuts: Vec<f32> = Vec::new();
    for (x, _) in minima {
        if cuts.len() < most && cuts.iter().all(|c| (c - x).abs() >= apart * line) {
            cuts.push(x);
        }
    }
    cuts.sort_by(f32::total_cmp);
    cuts
}

/// The parts of a polyline with x in `a..=b`, as polylines.
fn clip(stroke: &[(f32, f32)], a: f32, b: f32) -> Vec<Stroke> {
    let inside = |x: f32| a <= x && x <= b;
    if stroke.len() == 1 {
        return if inside(stroke[0].0) {
            vec![stroke.to_vec()]
        } else {
            Vec::new()
        };
    }
    let lerp =
        |p: (f32, f32), q: (f32, f32), t: f32| (p.0 + t * (q.0 - p.0), p.1 + t * (q.1 - p.1));
    let mut out = Vec::new();
    let mut current: Stroke = Vec::new();
    for w in stroke.windows(2) {
        let (p, q) = (w[0], w[1]);
        let span = if p.0 == q.0 {
            inside(p.0).then_some((0.0, 1.0))
        } else {
            let (ta, tb) = ((a - p.0) / (q.0 - p.0), (b - p.0) / (q.0 - p.0));
            let (lo, hi) = (ta.min(tb).max(0.0), ta.max(tb).min(1.0));
            (lo <= hi).then_some((lo, hi))
        };
        match span {
            Some((t0, t1)) => {
                if t0 > 0.0 || current.is_empty() {
                    if !current.is_empty() {
                        out.push(std::mem::take(&mut current));
                    }
                    current.push(lerp(p, q, t0));
                }
                current.push(lerp(p, q, t1));
                if t1 < 1.0 {
                    out.push(std::mem::take(&mut current));
                }
            }
            None => {
                if !current.is_empty() {
                    out.push(std::mem::take(&mut current));
                }
            }
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// A drawing's pieces: its strokes, wide ones cut where they cross a vertical line fewest times.
struct StrokePieces<'a> {
    strokes: &'a [Stroke],
    /// Per piece: its stroke, its x-slab, and its polylines.
    parts: Vec<(usize, (f32, f32), Vec<Stroke>)>,
    rects: Vec<Rect>,
    /// How many pieces each stroke became.
    pieces_of: Vec<usize>,
    /// Per piece: points along its lines, a fortieth of the line height apart at most.
    samples: Vec<Vec<(f32, f32)>>,
}

impl<'a> StrokePieces<'a> {
    fn new(strokes: &'a [Stroke], cut_width: f32) -> StrokePieces<'a> {
        let finite = |s: &Stroke| s.iter().all(|p| p.0.is_finite() && p.1.is_finite());
        let whole: Vec<(usize, Rect)> = strokes
            .iter()
            .enumerate()
            .filter(|(_, s)| finite(s))
            .filter_map(|(i, s)| Some((i, Rect::of_points(s.iter())?)))
            .collect();
        let line = line_height(&whole.iter().map(|w| w.1).collect::<Vec<_>>());
        let mut parts = Vec::new();
        let mut pieces_of = vec![0; strokes.len()];
        for &(i, rect) in &whole {
            let s = &strokes[i];
            // Where a vertical line crosses the stroke fewest times (one, between two digits
            // written in one go).
            let crossings = |x: f32| {
                s.windows(2)
                    .filter(|w| (w[0].0 < x) != (w[1].0 < x))
                    .count() as f32
            };
            // Only where the one crossing rises to the right (up from one digit's foot to the
            // next one's top, the way a pen joins digits), not through a digit's flat bar.
            let rising = |x: f32| {
                s.windows(2)
                    .find(|w| (w[0].0 < x) != (w[1].0 < x))
                    .is_some_and(|w| {
                        let (dx, dy) = (w[1].0 - w[0].0, w[1].1 - w[0].1);
                        dy * dx.signum() < -0.5 * dx.abs()
                    })
            };
            let spacing = (CUT_APART, MAX_CUTS);
            let cuts: Vec<f32> = cut_places(
                (rect.x0, rect.x1),
                line,
                cut_width,
                line / 24.0,
                spacing,
                crossings,
            )
            .into_iter()
            .filter(|&x| crossings(x) <= 1.0 && rising(x))
            .collect();
            let mut edges = vec![f32::NEG_INFINITY];
            edges.extend(&cuts);
            edges.push(f32::INFINITY);
            for slab in edges.windows(2) {
                let lines = if cuts.is_empty() {
                    vec![s.clone()]
                } else {
                    clip(s, slab[0], slab[1])
                };
                if lines.is_empty() {
                    continue;
                }
                parts.push((i, (slab[0], slab[1]), lines));
                pieces_of[i] += 1;
            }
        }
        let mut pieces = StrokePieces {
            strokes,
            rects: Vec::new(),
            parts,
            pieces_of,
            samples: Vec::new(),
        };
        pieces
            .parts
            .sort_by(|a, b| centre(&a.2).total_cmp(&centre(&b.2)));
        pieces.rects = pieces
            .parts
            .iter()
            .filter_map(|p| Rect::of_points(p.2.iter().flatten()))
            .collect();
        pieces.samples = pieces
            .parts
            .iter()
            .map(|p| p.2.iter().flat_map(|l| resample(l, line / 40.0)).collect())
            .collect();
        pieces
    }
}

/// Points along a polyline at most `step` apart (its own points included).
fn resample(line: &[(f32, f32)], step: f32) -> Vec<(f32, f32)> {
    let mut out: Vec<(f32, f32)> = line.first().copied().into_iter().collect();
    for w in line.windows(2) {
        let (dx, dy) = (w[1].0 - w[0].0, w[1].1 - w[0].1);
        let n = ((dx * dx + dy * dy).sqrt() / step)
            .ceil()
            .clamp(1.0, 1000.0) as usize;
        out.extend((1..=n).map(|k| {
            let t = k as f32 / n as f32;
            (w[0].0 + t * dx, w[0].1 + t * dy)
        }));
    }
    out
}

/// Whether segments s and t cross: each one's ends on either side of the other's line, one of
/// them maybe on it (a polyline whose corner lies exactly on the other line, as pixel-rounded
/// pointer positions often do, still crosses it; two lines merely in line do not).
fn crosses(s: ((f32, f32), (f32, f32)), t: ((f32, f32), (f32, f32))) -> bool {
    let side = |a: (f32, f32), b: (f32, f32), p: (f32, f32)| {
        (b.0 - a.0) * (p.1 - a.1) - (b.1 - a.1) * (p.0 - a.0)
    };
    let st = side(t.0, t.1, s.0) * side(t.0, t.1, s.1);
    let ts = side(s.0, s.1, t.0) * side(s.0, s.1, t.1);
    (st <= 0.0 && ts < 0.0) || (st < 0.0 && ts <= 0.0)
}

/// How far apart two boxes are (0 if they overlap).
fn box_distance(a: &Rect, b: &Rect) -> f32 {
    let dx = (a.x0 - b.x1).max(b.x0 - a.x1).max(0.0);
    let dy = (a.y0 - b.y1).max(b.y0 - a.y1).max(0.0);
    (dx * dx + dy * dy).sqrt()
}

/// The x-centre of polylines' box.
fn centre(lines: &[Stroke]) -> f32 {
    Rect::of_points(lines.iter().flatten()).map_or(0.0, |r| r.centre_x())
}

impl Pieces for StrokePieces<'_> {
    fn rects(&self) -> &[Rect] {
        &self.rects
    }

    fn key(&self, i: usize) -> u64 {
        let (stroke, slab, _) = &self.parts[i];
        let points = self.strokes[*stroke]
            .iter()
            .flat_map(|p| [p.0.to_bits(), p.1.to_bits()]);
        hash_words(points.chain([slab.0.to_bits(), slab.1.to_bits()]))
    }

    fn input(&self, run: Range<usize>) -> Option<Vec<f32>> {
        to_mnist(&rasterize_strokes(&self.lines(run))?)
    }

    fn strokes(&self, run: Range<usize>) -> Vec<usize> {
        let mut s: Vec<usize> = self.parts[run].iter().map(|p| p.0).collect();
        s.sort_unstable();
        s.dedup();
        s
    }

    fn source(&self, i: usize) -> usize {
        self.parts[i].0
    }

    fn one_source(&self) -> bool {
        self.parts.iter().all(|p| p.0 == self.parts[0].0)
    }

    fn distance(&self, a: usize, b: usize) -> (f32, bool) {
        let (ra, rb) = (&self.rects[a], &self.rects[b]);
        // Far apart boxes: no need to look at the points.
        let gap = (ra.x0 - rb.x1)
            .max(rb.x0 - ra.x1)
            .max(ra.y0 - rb.y1)
            .max(rb.y0 - ra.y1);
        if gap > 0.0 {
            return (gap.max(box_distance(ra, rb)), false);
        }
        let mut best = f32::INFINITY;
        for p in &self.samples[a] {
            for q in &self.samples[b] {
                best = best.min((p.0 - q.0).powi(2) + (p.1 - q.1).powi(2));
            }
        }
        let segments = |i: usize| {
            self.parts[i]
                .2
                .iter()
                .flat_map(|l| l.windows(2).map(|w| (w[0], w[1])))
        };
        let cross = segments(a).any(|s| segments(b).any(|t| crosses(s, t)));
        (best.sqrt(), cross)
    }
}

impl StrokePieces<'_> {
    /// The polylines of a run: a stroke whose pieces are all in it is drawn whole, as it was
    /// drawn (so a drawing read as one digit is exactly the lone digit's input).
    fn lines(&self, run: Range<usize>) -> Vec<Stroke> {
        let mut count = vec![0; self.strokes.len()];
        for p in &self.parts[run.clone()] {
            count[p.0] += 1;
        }
        let mut lines = Vec::new();
        let mut whole_done = vec![false; self.strokes.len()];
        // In drawing order, as the page rasterizes them.
        let mut parts: Vec<&(usize, (f32, f32), Vec<Stroke>)> = self.parts[run].iter().collect();
        parts.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.0.total_cmp(&b.1.0)));
        for (stroke, _, pl) in parts {
            if count[*stroke] == self.pieces_of[*stroke] {
                if !std::mem::replace(&mut whole_done[*stroke], true) {
                    lines.push(self.strokes[*stroke].clone());
                }
            } else {
                lines.extend(pl.iter().cloned());
            }
        }
        lines
    }
}

/// A picture's lines, traced: pieces of line between ends and junctions (in the picture's
/// pixels), their width, and whether the picture's ink is one blob.
struct PictureLines {
    lines: Vec<Stroke>,
    width: f32,
    one_blob: bool,
}

impl PictureLines {
    fn new(ink: &Ink) -> PictureLines {
        let (labels, blobs) = label_blobs(ink);
        let Some(all) = blobs.iter().copied().reduce(|a, r| a.union(&r)) else {
            return PictureLines {
                lines: Vec::new(),
                width: 0.0,
                one_blob: false,
            };
        };
        // Specks (blobs small both ways against the picture's height: dust, a stray dot of
        // noise) are not traced.
        let speck = |r: &Rect| r.width().max(r.height()) < SPECK * all.height();
        let mut data = ink.data.clone();
        for (v, &l) in data.iter_mut().zip(&labels) {
            if l > 0 && speck(&blobs[l as usize - 1]) {
                *v = 0.0;
            }
        }
        // The line of digits TRACE_LINE grid pixels tall, within TRACE_MAX_GRID grid pixels.
        let (w, h) = (ink.width as f32, ink.height as f32);
        let scale = (TRACE_LINE / all.height().max(1.0)).min((TRACE_MAX_GRID / (w * h)).sqrt());
        let (lines, width) = crate::trace::trace_lines(&data, ink.width, ink.height, scale);
        PictureLines {
            lines,
            width,
            one_blob: blobs.iter().filter(|r| !speck(r)).count() == 1,
        }
    }
}

impl PictureLines {
    /// The box of the ink around lines whose points' box is `r`: the lines run down the
    /// middle of the ink, which reaches half a line further (in whole pixels of the picture).
    fn ink_box(&self, r: &Rect, ink: &Ink) -> Rect {
        let half = self.width / 2.0;
        Rect {
            x0: (r.x0 - half).floor().max(0.0),
            y0: (r.y0 - half).floor().max(0.0),
            x1: (r.x1 + half + 1.0).ceil().min(ink.width as f32),
            y1: (r.y1 + half + 1.0).ceil().min(ink.height as f32),
        }
    }
}

/// A picture's pieces: its traced lines, as the pad's strokes are pieces; except that every
/// piece read together is the picture itself, read whole.
struct PicturePieces<'a> {
    ink: &'a Ink,
    lines: StrokePieces<'a>,
    one_blob: bool,
    /// The lines' width (pixels).
    width: f32,
    /// Per pixel: the piece whose line is nearest through the ink (piece + 1; 0 = none).
    owner: Vec<u32>,
}

impl<'a> PicturePieces<'a> {
    fn new(ink: &'a Ink, lines: &'a PictureLines, priors: &Priors) -> PicturePieces<'a> {
        let pieces = StrokePieces::new(&lines.lines, priors.cut_width);
        let owner = owners(ink, &pieces.samples);
        PicturePieces {
            ink,
            lines: pieces,
            one_blob: lines.one_blob,
            width: lines.width,
            owner,
        }
    }
}

/// Each inked pixel's nearest line, through the ink: a breadth-first walk out from every line's
/// points at once (piece + 1 per pixel; 0 = paper, or ink no line reaches).
fn owners(ink: &Ink, samples: &[Vec<(f32, f32)>]) -> Vec<u32> {
    let (w, h) = (ink.width, ink.height);
    let mut owner = vec![0u32; w * h];
    let mut queue = std::collections::VecDeque::new();
    for (k, points) in samples.iter().enumerate() {
        for &(x, y) in points {
            let (x, y) = (x.round(), y.round());
            if x < 0.0 || y < 0.0 || x >= w as f32 || y >= h as f32 {
                continue;
            }
            let i = y as usize * w + x as usize;
            if owner[i] == 0 {
                owner[i] = k as u32 + 1;
                queue.push_back(i);
            }
        }
    }
    while let Some(i) = queue.pop_front() {
        let (x, y) = (i % w, i / w);
        for ny in y.saturating_sub(1)..(y + 2).min(h) {
            for nx in x.saturating_sub(1)..(x + 2).min(w) {
                let q = ny * w + nx;
                if owner[q] == 0 && ink.data[q] > 0.0 {
                    owner[q] = owner[i];
                    queue.push_back(q);
                }
            }
        }
    }
    owner
}

impl Pieces for PicturePieces<'_> {
    fn rects(&self) -> &[Rect] {
        self.lines.rects()
    }

    fn key(&self, i: usize) -> u64 {
        self.lines.key(i)
    }

    fn input(&self, run: Range<usize>) -> Option<Vec<f32>> {
        if run.start == 0 && run.end == self.rects().len() {
            return to_mnist(self.ink);
        }
        // The ink nearest to the run's lines, as it is in the picture: within a line's width
        // of their points.
        let rects = &self.rects()[run.clone()];
        let r = rects.iter().fold(rects[0], |a, r| a.union(r));
        let (w, h) = (self.ink.width, self.ink.height);
        let reach = self.width + 2.0;
        let x0 = (r.x0 - reach).floor().clamp(0.0, w as f32) as usize;
        let y0 = (r.y0 - reach).floor().clamp(0.0, h as f32) as usize;
        let x1 = (r.x1 + reach).ceil().clamp(0.0, w as f32) as usize;
        let y1 = (r.y1 + reach).ceil().clamp(0.0, h as f32) as usize;
        let (lo, hi) = (run.start as u32 + 1, run.end as u32 + 1);
        let mut out = Ink::new(x1.saturating_sub(x0), y1.saturating_sub(y0));
        let mut any = false;
        for y in y0..y1 {
            for x in x0..x1 {
                if (lo..hi).contains(&self.owner[y * w + x]) {
                    out.data[(y - y0) * out.width + x - x0] = self.ink.data[y * w + x];
                    any = true;
                }
            }
        }
        // (A line with no ink of its own, where the lines' points all fell on another's.)
        if any {
            to_mnist(&out)
        } else {
            self.lines.input(run)
        }
    }

    /// A picture has no strokes: its digits hold none.
    fn strokes(&self, _: Range<usize>) -> Vec<usize> {
        Vec::new()
    }

    fn source(&self, i: usize) -> usize {
        self.lines.source(i)
    }

    fn one_source(&self) -> bool {
        self.one_blob
    }

    fn distance(&self, a: usize, b: usize) -> (f32, bool) {
        self.lines.distance(a, b)
    }
}

/// Connected blobs (8-neighbours) of the pixels with more than [`BLOB_INK`]: a label per pixel (0 = paper,
/// else blob + 1) and each blob's box (exclusive right and bottom edges).
fn label_blobs(ink: &Ink) -> (Vec<u32>, Vec<Rect>) {
    let (w, h) = (ink.width, ink.height);
    let mut labels = vec![0u32; w * h];
    let mut rects = Vec::new();
    let mut stack = Vec::new();
    for start in 0..w * h {
        if labels[start] != 0 || ink.data[start] <= BLOB_INK {
            continue;
        }
        let label = rects.len() as u32 + 1;
        labels[start] = label;
        stack.push(start);
        let (mut x0, mut y0, mut x1, mut y1) = (w, h, 0, 0);
        while let Some(p) = stack.pop() {
            let (x, y) = (p % w, p / w);
            (x0, y0, x1, y1) = (x0.min(x), y0.min(y), x1.max(x + 1), y1.max(y + 1));
            for ny in y.saturating_sub(1)..(y + 2).min(h) {
                for nx in x.saturating_sub(1)..(x + 2).min(w) {
                    let q = ny * w + nx;
                    if labels[q] == 0 && ink.data[q] > BLOB_INK {
                        labels[q] = label;
                        stack.push(q);
                    }
                }
            }
        }
        rects.push(Rect {
            x0: x0 as f32,
            y0: y0 as f32,
            x1: x1 as f32,
            y1: y1 as f32,
        });
    }
    (labels, rects)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Model;

    fn model() -> Model {
        let bytes = include_bytes!("../../../web/assets/model.onnx");
        Model::from_bytes_for_batch(bytes, "model.onnx", 1).unwrap()
    }

    /// Reads strokes with the shipped model: the number and the strokes of each digit.
    fn read_strokes(strokes: &[Stroke]) -> (String, Vec<Vec<usize>>) {
        let m = model();
        let mut classify = |x: &[f32]| m.predictions(x).ok().map(|p| p[0]);
        let digits = Reader::default().strokes(strokes, &mut classify);
        (
            number(&digits),
            digits.into_iter().map(|d| d.strokes).collect(),
        )
    }

    /// The strokes of hand-made digits, one unit tall, with their left edge at 0.
    fn shape(d: char) -> Vec<Stroke> {
        let ellipse = |cx: f32, cy: f32, rx: f32, ry: f32| -> Stroke {
            (0..=32)
                .map(|k| {
                    let a = k as f32 / 32.0 * std::f32::consts::TAU;
                    (cx - rx * a.sin(), cy - ry * a.cos())
                })
                .collect()
        };
        match d {
            '0' => vec![ellipse(0.32, 0.5, 0.32, 0.5)],
            '1' => vec![vec![(0.12, 0.0), (0.0, 1.0)]],
            '2' => vec![vec![
                (0.02, 0.25),
                (0.15, 0.04),
                (0.35, 0.0),
                (0.55, 0.08),
                (0.6, 0.28),
                (0.45, 0.55),
                (0.05, 1.0),
                (0.7, 1.0),
            ]],
            '3' => vec![vec![
                (0.05, 0.1),
                (0.3, 0.0),
                (0.55, 0.1),
                (0.55, 0.33),
                (0.25, 0.48),
                (0.6, 0.62),
                (0.6, 0.88),
                (0.3, 1.0),
                (0.0, 0.9),
            ]],
            // Two strokes: the open angle, then the bar down through it.
            '4' => vec![
                vec![(0.4, 0.0), (0.0, 0.65), (0.7, 0.65)],
                vec![(0.5, 0.25), (0.5, 1.0)],
            ],
            // Two strokes: the body, then the flag.
            '5' => vec![
                vec![
                    (0.12, 0.0),
                    (0.08, 0.45),
                    (0.35, 0.38),
                    (0.55, 0.5),
                    (0.6, 0.75),
                    (0.45, 0.95),
                    (0.2, 1.0),
                    (0.0, 0.9),
                ],
                vec![(0.12, 0.0), (0.6, 0.0)],
            ],
            '6' => vec![vec![
                (0.5, 0.0),
                (0.22, 0.3),
                (0.06, 0.65),
                (0.16, 0.95),
                (0.36, 1.0),
                (0.52, 0.85),
                (0.48, 0.6),
                (0.28, 0.55),
                (0.08, 0.7),
            ]],
            '7' => vec![vec![(0.0, 0.02), (0.65, 0.0), (0.25, 1.0)]],
            // A 7 with a bar through it.
            'T' => vec![
                vec![(0.0, 0.02), (0.65, 0.0), (0.25, 1.0)],
                vec![(0.15, 0.5), (0.65, 0.5)],
            ],
            '8' => vec![vec![
                (0.5, 0.1),
                (0.3, 0.0),
                (0.1, 0.12),
                (0.15, 0.32),
                (0.5, 0.55),
                (0.58, 0.8),
                (0.32, 1.0),
                (0.05, 0.8),
                (0.15, 0.55),
                (0.45, 0.35),
                (0.52, 0.15),
                (0.5, 0.1),
            ]],
            '9' => vec![
                ellipse(0.28, 0.25, 0.26, 0.25),
                vec![(0.54, 0.2), (0.5, 1.0)],
            ],
            _ => panic!("no shape for {d}"),
        }
    }

    /// Digits written left to right, `gap` units apart (negative: overlapping), scaled to
    /// `height` and placed at (x, y): (strokes, stroke count of each digit).
    fn write(digits: &str, gap: f32, height: f32) -> Vec<Stroke> {
        let mut x = 20.0;
        let mut out = Vec::new();
        for d in digits.chars() {
            let s = shape(d);
            let w = s.iter().flatten().map(|p| p.0).fold(0.0, f32::max);
            out.extend(s.into_iter().map(|s| {
                s.into_iter()
                    .map(|(px, py)| (x + px * height, 30.0 + py * height))
                    .collect::<Stroke>()
            }));
            x += (w + gap) * height;
        }
        out
    }

    /// Writes `digits` at `height` units tall, `gap` heights apart, and reads them.
    fn reads(digits: &str, gap: f32) -> String {
        read_strokes(&write(digits, gap, 100.0)).0
    }

    #[test]
    fn single_digits_are_never_split_multi_stroke_ones_included() {
        for d in "0123456789".chars() {
            for height in [30.0, 100.0, 400.0] {
                let (read, strokes) = read_strokes(&write(&d.to_string(), 0.0, height));
                assert_eq!(read, d.to_string(), "{d} at {height}");
                assert_eq!(strokes.len(), 1);
            }
        }
        // A 7 with a bar through it, a 4 and a 5 in two strokes: one digit each.
        let (read, strokes) = read_strokes(&write("T", 0.0, 100.0));
        assert_eq!((read.as_str(), strokes), ("7", vec![vec![0, 1]]));
        assert_eq!(read_strokes(&write("4", 0.0, 100.0)).1, [vec![0, 1]]);
        assert_eq!(read_strokes(&write("5", 0.0, 100.0)).1, [vec![0, 1]]);
    }

    #[test]
    fn a_lone_digit_reads_exactly_as_it_did_before_numbers() {
        let m = model();
        let mut classify = |x: &[f32]| m.predictions(x).ok().map(|p| p[0]);
        for d in "0123456789T".chars() {
            let strokes = write(&d.to_string(), 0.0, 80.0);
            let digits = Reader::default().strokes(&strokes, &mut classify);
            let whole = crate::preprocess::strokes_to_mnist(&strokes).unwrap();
            assert_eq!(digits.len(), 1);
            assert_eq!(digits[0].input, whole, "{d}: the same input, bit for bit");
            assert_eq!(digits[0].prediction, classify(&whole));
        }
    }

    #[test]
    fn numbers_are_read_left_to_right() {
        assert_eq!(reads("2026", 0.3), "2026");
        assert_eq!(reads("1234567890", 0.25), "1234567890");
        assert_eq!(reads("38", 0.6), "38", "wide gaps");
    }

    #[test]
    fn multi_stroke_digits_stay_whole_inside_a_number() {
        let (read, strokes) = read_strokes(&write("45T9", 0.2, 100.0));
        assert_eq!(read, "4579");
        assert_eq!(strokes, [vec![0, 1], vec![2, 3], vec![4, 5], vec![6, 7]]);
    }

    /// The end-to-end tests' drawings of each digit (0..1 coordinates, tests/e2e/digits.json)
    /// written side by side as the browser tests write them: 0.62 heights tall, 0.12 apart.
    fn page_number(number: &str) -> Vec<Stroke> {
        let json: serde_json::Value =
            serde_json::from_str(include_str!("../../../tests/e2e/digits.json")).unwrap();
        let mut x = 0.0;
        let mut out = Vec::new();
        for d in number.chars() {
            let strokes: Vec<Stroke> = serde_json::from_value(json[d.to_string()].clone()).unwrap();
            let r = Rect::of_points(strokes.iter().flatten()).unwrap();
            for s in &strokes {
                out.push(
                    s.iter()
                        .map(|p| (x + (p.0 - r.x0) * 0.62, p.1 * 0.62))
                        .collect(),
                );
            }
            x += (r.width() + 0.12) * 0.62;
        }
        out
    }

    #[test]
    fn the_browser_tests_numbers_read_right() {
        for n in [
            "2026", "4719", "38015", "17", "98765", "56789", "44", "1111",
        ] {
            assert_eq!(read_strokes(&page_number(n)).0, n);
            // As a mouse reports them on a 473-pixel pad: points every sixth of a segment,
            // on whole pixels.
            let mouse: Vec<Stroke> = page_number(n)
                .iter()
                .map(|s| {
                    let mut pts = vec![((s[0].0 * 473.0).round(), (s[0].1 * 473.0).round())];
                    for w in s.windows(2) {
                        for k in 1..=6 {
                            let t = k as f32 / 6.0;
                            let x = (w[0].0 + t * (w[1].0 - w[0].0)) * 473.0;
                            let y = (w[0].1 + t * (w[1].1 - w[0].1)) * 473.0;
                            pts.push((x.round(), y.round()));
                        }
                    }
                    pts
                })
                .collect();
            assert_eq!(read_strokes(&mouse).0, n, "{n} with a mouse");
        }
    }

    #[test]
    fn lines_cross_even_through_a_corner() {
        let bar = ((0.0, 5.0), (10.0, 5.0));
        assert!(crosses(bar, ((4.0, 0.0), (4.0, 10.0))));
        // A polyline whose corner is on the bar: its two segments each touch it.
        assert!(crosses(bar, ((4.0, 0.0), (4.0, 5.0))) || crosses(bar, ((4.0, 5.0), (4.0, 10.0))));
        assert!(!crosses(bar, ((4.0, 6.0), (4.0, 10.0))), "apart");
        assert!(!crosses(bar, ((12.0, 5.0), (20.0, 5.0))), "in line");
    }

    #[test]
    fn a_one_next_to_a_seven_and_overlapping_extents() {
        assert_eq!(reads("17", 0.25), "17");
        assert_eq!(reads("71", 0.1), "71");
        assert_eq!(reads("1T1", 0.15), "171");
        // Written close: each digit's box reaches into its neighbour's.
        assert_eq!(reads("2026", -0.05), "2026");
        assert_eq!(reads("000", 0.02), "000");
    }

    #[test]
    fn touching_strokes_of_two_digits_are_two_digits() {
        // The 0's right side touches the 1's foot.
        assert_eq!(reads("01", -0.02), "01");
        assert_eq!(reads("10", -0.02), "10");
    }

    #[test]
    fn one_stroke_through_two_digits_is_cut_where_it_rises_to_the_next() {
        // "00" written in one go: the first ring, then up to the top of the second.
        let ring = |cx: f32, from_top: f32| {
            (0..=32).map(move |k| {
                let a = k as f32 / 32.0 * std::f32::consts::TAU;
                (cx - 28.0 * a.sin(), 80.0 + from_top * 50.0 * a.cos())
            })
        };
        let one_go: Stroke = ring(50.0, 1.0).chain(ring(125.0, -1.0)).collect();
        let (read, strokes) = read_strokes(std::slice::from_ref(&one_go));
        assert_eq!(read, "00");
        assert_eq!(
            strokes,
            [vec![0], vec![0]],
            "both digits are made of the one stroke"
        );
        // The same rings joined along the bottom (a flat line, as inside a digit): not cut.
        let flat: Stroke = ring(50.0, 1.0).chain(ring(125.0, 1.0)).collect();
        assert_eq!(
            StrokePieces::new(&[flat], Priors::strokes().cut_width)
                .rects
                .len(),
            1
        );
        assert_eq!(
            StrokePieces::new(&[one_go], Priors::strokes().cut_width)
                .rects
                .len(),
            2
        );
    }

    #[test]
    fn nothing_drawn_nothing_read_and_garbage_is_ignored() {
        assert_eq!(read_strokes(&[]).0, "");
        assert_eq!(read_strokes(&[vec![]]).0, "");
        let mut strokes = write("7", 0.0, 100.0);
        strokes.push(vec![(f32::NAN, 1.0), (2.0, f32::INFINITY)]);
        assert_eq!(read_strokes(&strokes).0, "7");
    }

    #[test]
    fn without_a_model_the_digits_are_found_unread() {
        let mut none = |_: &[f32]| None;
        let digits = Reader::default().strokes(&write("17", 0.4, 100.0), &mut none);
        assert_eq!(digits.len(), 2);
        assert!(
            digits
                .iter()
                .all(|d| d.prediction.is_none() && d.input.len() == PIXELS)
        );
        assert_eq!(number(&digits), "??");
    }

    #[test]
    fn a_growing_drawing_reads_only_what_changed() {
        let m = model();
        let mut classify = |x: &[f32]| m.predictions(x).ok().map(|p| p[0]);
        let mut reader = Reader::default();
        let mut strokes = write("2026", 0.3, 100.0);
        let first = reader.strokes(&strokes, &mut classify);
        let everything = reader.last_reads;
        assert!(everything >= 4, "{everything}");
        // The last stroke grows by a point: only the runs it is in are read again.
        let last = strokes.last_mut().unwrap();
        let end = *last.last().unwrap();
        last.push((end.0 + 1.0, end.1));
        let second = reader.strokes(&strokes, &mut classify);
        assert!(
            reader.last_reads < everything / 2,
            "{} of {everything}",
            reader.last_reads
        );
        assert_eq!(number(&first), number(&second));
        // And the same drawing again reads nothing.
        reader.strokes(&strokes, &mut classify);
        assert_eq!(reader.last_reads, 0);
        // A fresh reader gives the same digits as the cached one.
        let fresh = Reader::default().strokes(&strokes, &mut classify);
        assert_eq!(fresh, second);
    }

    /// Paints strokes into a picture with a round pen.
    fn picture(strokes: &[Stroke], radius: f32) -> Ink {
        let r = Rect::of_points(strokes.iter().flatten()).unwrap();
        let mut ink = Ink::new((r.x1 + 30.0) as usize, (r.y1 + 30.0) as usize);
        for s in strokes {
            ink.paint_segment(s[0], s[0], radius);
            for w in s.windows(2) {
                ink.paint_segment(w[0], w[1], radius);
            }
        }
        ink
    }

    fn read_ink(ink: &Ink) -> String {
        let m = model();
        let mut classify = |x: &[f32]| m.predictions(x).ok().map(|p| p[0]);
        number(&Reader::new(Priors::pictures()).ink(ink, &mut classify))
    }

    #[test]
    fn pictures_are_read_from_their_blobs() {
        assert_eq!(read_ink(&picture(&write("2026", 0.35, 60.0), 4.0)), "2026");
        assert_eq!(read_ink(&picture(&write("4T9", 0.3, 60.0), 4.0)), "479");
        for d in "0123456789".chars() {
            assert_eq!(
                read_ink(&picture(&write(&d.to_string(), 0.0, 60.0), 4.0)),
                d.to_string()
            );
        }
        assert_eq!(read_ink(&Ink::new(40, 40)), "", "a blank picture");
    }

    #[test]
    fn a_lone_digit_in_a_picture_reads_as_the_whole_picture() {
        let m = model();
        let mut classify = |x: &[f32]| m.predictions(x).ok().map(|p| p[0]);
        let mut ink = picture(&write("5", 0.0, 60.0), 4.0);
        // A speck of dust beside it goes with the digit.
        ink.paint_segment((5.0, 5.0), (5.0, 5.0), 1.0);
        let digits = Reader::new(Priors::pictures()).ink(&ink, &mut classify);
        assert_eq!(digits.len(), 1);
        assert_eq!(digits[0].input, to_mnist(&ink).unwrap());
    }

    #[test]
    fn touching_digits_in_a_picture_are_read_apart() {
        // A thick pen (an eighth of the height) and no gap between the pairs' strokes, so the
        // ink of the two overlaps by a pen's width: each pair is one blob; its traced lines
        // break where the digits meet, and the reader finds the two digits among them.
        // (Not yet at this overlap: two round digits share a stretch of line, which goes to
        // one of them, "00" reading "02"; and a 1, 2, 3, 5, 6 or 9 against a round or upright
        // neighbour often reads as one digit: "12", "23", "41", "10", "30", "57", "66", "19".)
        for pair in ["07", "08", "85", "48", "20", "34"] {
            let ink = picture(&write(pair, 0.0, 60.0), 4.0);
            assert_eq!(label_blobs(&ink).1.len(), 1, "{pair}: one blob");
            assert_eq!(read_ink(&ink), pair);
        }
    }

    #[test]
    fn a_picture_is_traced_whatever_its_size() {
        // The same number at three sizes, with pens to match: traced on a grid of the same
        // line height, it reads the same; each digit's box holds its ink.
        for (height, radius) in [(24.0, 1.5), (60.0, 4.0), (400.0, 24.0)] {
            let ink = picture(&write("394", 0.3, height), radius);
            let m = model();
            let mut classify = |x: &[f32]| m.predictions(x).ok().map(|p| p[0]);
            let digits = Reader::new(Priors::pictures()).ink(&ink, &mut classify);
            assert_eq!(number(&digits), "394", "{height}");
            for d in &digits {
                assert!(d.rect.height() >= height * 0.9, "{height}: {:?}", d.rect);
                assert!(d.rect.x1 <= ink.width as f32 && d.rect.y1 <= ink.height as f32);
                assert!(d.strokes.is_empty(), "a picture has no strokes");
            }
        }
    }

    #[test]
    fn a_doubted_run_pays_for_its_doubt_by_the_one_digit_prior() {
        // Two pieces close together: each read alone as a fairly sure digit, together as a surer
        // one that the doubt output says is not one digit.
        let rect = |x0: f32| Rect {
            x0,
            y0: 0.0,
            x1: x0 + 0.3,
            y1: 1.0,
        };
        let reading = |top: f32, one: f32| {
            let mut probabilities = [(1.0 - top) / 9.0; CLASSES];
            probabilities[1] = top;
            Reading {
                input: Some(vec![0.0; PIXELS]),
                prediction: Some(Prediction {
                    probabilities,
                    digit: probabilities,
                    one_digit: Some(one),
                }),
            }
        };
        let runs: HashMap<(usize, usize), (Rect, Reading)> = [
            ((0, 1), (rect(0.0), reading(0.6, 1.0))),
            ((1, 2), (rect(0.6), reading(0.6, 1.0))),
            ((0, 2), (rect(0.0).union(&rect(0.6)), reading(0.9, 0.05))),
        ]
        .into_iter()
        .collect();
        let near = Near::new(2, 8, |_, _| (0.02, false));
        let read = |one_digit: f32| {
            let p = Priors {
                one_digit,
                ..Priors::strokes()
            };
            best_runs(2, 1.0, &runs, &near, &[0, 1], 0.0, &p)
        };
        assert_eq!(read(0.0), vec![0..2], "the doubt alone flattens too little");
        assert_eq!(read(Priors::pictures().one_digit), vec![0..1, 1..2]);
    }

    #[test]
    fn clipping_keeps_the_parts_of_a_line_inside_the_slab() {
        let v = vec![(0.0, 0.0), (10.0, 10.0), (0.0, 20.0)];
        assert_eq!(
            clip(&v, f32::NEG_INFINITY, 5.0),
            [vec![(0.0, 0.0), (5.0, 5.0)], vec![(5.0, 15.0), (0.0, 20.0)]]
        );
        assert_eq!(
            clip(&v, 5.0, f32::INFINITY),
            [vec![(5.0, 5.0), (10.0, 10.0), (5.0, 15.0)]]
        );
        assert_eq!(clip(&[(3.0, 3.0)], 0.0, 5.0), [vec![(3.0, 3.0)]]);
        assert!(clip(&[(3.0, 3.0)], 4.0, 5.0).is_empty());
    }
}
