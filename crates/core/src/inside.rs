//! Looking inside a model, for the page's "Inside the network" section: the first layer's
//! learned filters (read from the ONNX graph), a layer's values as an image a beginner can
//! read, variants of a drawing that test robustness, and an occlusion map of what the answer
//! rests on. Pure: no model runs here (the caller passes its classifier in), no browser types.

use half::f16;

use crate::layer::LayerView;
use crate::onnx_pb::{GraphProto, TensorProto, tensor_proto::DataType};
use crate::{CLASSES, PIXELS, SIDE};

/// The first convolution's kernels, as stored in the model (batch norm folded in, where the
/// trainer folded it).
#[derive(Debug, Clone, PartialEq)]
pub struct Filters {
    /// The tensor that convolution writes (its node's output).
    pub layer: String,
    pub count: usize,
    pub channels_in: usize,
    pub size: usize,
    /// `count x channels_in x size x size` weights.
    pub weights: Vec<f32>,
    /// One bias per filter (zeros where the graph has none).
    pub bias: Vec<f32>,
}

impl Filters {
    /// The first convolution's kernels of an ONNX model's bytes ([`Filters::of_graph`]); `None`
    /// for bytes that are not an ONNX model, or a model without one.
    pub fn from_onnx(bytes: &[u8]) -> Option<Filters> {
        // With tract built in, its own reader (the page's module has it anyway); else prost.
        #[cfg(feature = "tract")]
        let proto = {
            use tract_onnx::prelude::Framework;
            tract_onnx::onnx()
                .proto_model_for_read(&mut &bytes[..])
                .ok()?
        };
        #[cfg(not(feature = "tract"))]
        let proto = {
            use prost::Message;
            crate::onnx_pb::ModelProto::decode(bytes).ok()?
        };
        Filters::of_graph(proto.graph.as_ref()?)
    }

    /// The first convolution of `graph` with a 2-D kernel and its weights stored in the file
    /// (as float32, or float16 behind a `Cast`); `None` for a model without one.
    pub fn of_graph(graph: &GraphProto) -> Option<Filters> {
        let conv = graph.node.iter().find(|n| n.op_type == "Conv")?;
        let mut name = conv.input.get(1)?;
        // A float16 weight is cast to float32 by a node in front of the convolution.
        if let Some(cast) = graph
            .node
            .iter()
            .find(|n| n.op_type == "Cast" && n.output.first() == Some(name))
        {
            name = cast.input.first()?;
        }
        let tensor = graph.initializer.iter().find(|t| &t.name == name)?;
        let dims: Vec<usize> = tensor
            .dims
            .iter()
            .map(|&d| usize::try_from(d).ok())
            .collect::<Option<_>>()?;
        let [count, channels_in, size, size2] = dims[..] else {
            return None;
        };
        let weights = floats(tensor)?;
        let layer = conv.output.first()?.clone();
        let bias = match conv.input.get(2) {
            Some(b) => floats(graph.initializer.iter().find(|t| &t.name == b)?)?,
            None => vec![0.0; count],
        };
        (size == size2 && weights.len() == count * channels_in * size * size && bias.len() == count)
            .then_some(Filters {
                layer,
                bias,
                count,
                channels_in,
                size,
                weights,
            })
    }

    /// Filter `i`'s kernel on input channel 0 (`size x size`).
    pub fn kernel(&self, i: usize) -> &[f32] {
        let k = self.size * self.size;
        let at = i * self.channels_in * k;
        &self.weights[at..at + k]
    }
}

/// The values of a float32 or float16 initializer; `None` for any other kind.
fn floats(t: &TensorProto) -> Option<Vec<f32>> {
    match (DataType::try_from(t.data_type).ok()?, t.raw_data.is_empty()) {
        (DataType::Float, false) => Some(
            t.raw_data
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect(),
        ),
        (DataType::Float, true) => Some(t.float_data.clone()),
        (DataType::Float16, false) => Some(
            t.raw_data
                .chunks_exact(2)
                .map(|b| f16::from_le_bytes([b[0], b[1]]).to_f32())
                .collect(),
        ),
        // Without raw data, float16 values sit in int32_data, one per entry.
        (DataType::Float16, true) => Some(
            t.int32_data
                .iter()
                .map(|&v| f16::from_bits(v as u16).to_f32())
                .collect(),
        ),
        _ => None,
    }
}

/// An RGBA image of a layer: its channels side by side in a grid of tiles, one pixel a value
/// (a vector's values as cells).
#[derive(Debug, Clone, PartialEq)]
pub struct Tiles {
    pub width: usize,
    pub height: usize,
    pub columns: usize,
    /// `width x height x 4` bytes, row by row.
    pub rgba: Vec<u8>,
}

/// Pixels between two tiles.
const GAP: usize = 1;

/// Tiles per row for a layer of `channels` maps: 8 (16 -> 2 rows, 64 -> 8), fewer for a layer
/// with fewer channels; a vector (single values) is shown as cells, 16 to a row.
pub fn columns(view: &LayerView) -> usize {
    let most = if view.height * view.width == 1 { 16 } else { 8 };
    view.channels.clamp(1, most)
}

/// Side in pixels of a vector's cell ([`tiles`]).
pub const CELL: usize = 6;

/// The colour of value `v` on a scale where `scale` is the largest magnitude: ink (dark blue
/// on white) for positive values, orange for negative ones, so a map of a ReLU layer reads like
/// the drawing and a filter's signs show.
pub fn colour(v: f32, scale: f32) -> [u8; 4] {
    Shade::new(scale).at(v)
}

/// The 511 colours from -1 (orange) through 0 (white) to 1 (ink), made once.
fn palette() -> &'static [[u8; 4]; 511] {
    static PALETTE: std::sync::OnceLock<[[u8; 4]; 511]> = std::sync::OnceLock::new();
    PALETTE.get_or_init(|| {
        let mut p = [[0u8; 4]; 511];
        for (i, c) in p.iter_mut().enumerate() {
            let t = (i as f32 - 255.0) / 255.0;
            let (to, t) = if t >= 0.0 {
                ([16.0, 42.0, 110.0], t)
            } else {
                ([214.0, 96.0, 0.0], -t)
            };
            let mix = |c: f32| (255.0 + (c - 255.0) * t).round() as u8;
            *c = [mix(to[0]), mix(to[1]), mix(to[2]), 255];
        }
        p
    })
}

/// [`colour`] for many values on one scale: a table lookup per value (this runs for every
/// value of every layer on every frame).
struct Shade {
    inv: f32,
    palette: &'static [[u8; 4]; 511],
}

impl Shade {
    fn new(scale: f32) -> Shade {
        let inv = if scale > 0.0 && scale.is_finite() {
            1.0 / scale
        } else {
            0.0
        };
        Shade {
            inv,
            palette: palette(),
        }
    }

    fn at(&self, v: f32) -> [u8; 4] {
        let t = if v.is_finite() { v * self.inv } else { 0.0 };
        self.palette[(t.clamp(-1.0, 1.0) * 255.0 + 255.5) as usize]
    }
}

/// The largest magnitude among `values` (0 without finite values).
pub fn magnitude(values: &[f32]) -> f32 {
    values
        .iter()
        .filter(|v| v.is_finite())
        .fold(0.0, |m, v| m.max(v.abs()))
}

/// A layer's channels as tiles, every channel on the layer's one scale (so a channel that
/// barely responds looks faint, as it is), with a grey gap between tiles.
pub fn tiles(view: &LayerView) -> Tiles {
    if view.height * view.width != 1 {
        return tiles_in(view, columns(view));
    }
    // A vector: each value a CELL x CELL square.
    let cells = LayerView {
        height: CELL,
        width: CELL,
        values: view
            .values
            .iter()
            .flat_map(|&v| std::iter::repeat_n(v, CELL * CELL))
            .collect(),
        ..view.clone()
    };
    tiles_in(&cells, columns(view))
}

/// Filters as tiles in `columns` columns: each kernel (on input channel 0) upscaled by `zoom`,
/// all on one scale.
pub fn filter_tiles(filters: &Filters, columns: usize, zoom: usize) -> Tiles {
    let (k, zoom) = (filters.size, zoom.max(1));
    let side = k * zoom;
    let values = (0..filters.count)
        .flat_map(|i| {
            let kernel = filters.kernel(i);
            (0..side * side).map(move |p| kernel[(p / side / zoom) * k + (p % side) / zoom])
        })
        .collect();
    let view = LayerView {
        name: filters.layer.clone(),
        op: "Conv".into(),
        channels: filters.count,
        height: side,
        width: side,
        values,
    };
    tiles_in(&view, columns.clamp(1, filters.count.max(1)))
}

/// Pixels between two filter-and-map pairs ([`pairs`]).
const PAIR_GAP: usize = 4;

/// Each first-layer filter beside the feature map it makes: `columns` pairs to a row, each a
/// filter (on input channel 0, upscaled to the map's height, on the filters' one scale) and,
/// one pixel to its right, its map (on the maps' one scale). `maps` must have one channel per
/// filter; otherwise the filters alone are shown.
pub fn pairs(filters: &Filters, maps: &LayerView, columns: usize) -> Tiles {
    Pairs::new(filters, maps.height, maps.width, columns).paint(maps)
}

/// [`pairs`] with the filters' half drawn once: each frame only paints the maps.
pub struct Pairs {
    count: usize,
    /// Where each pair's map goes: its top-left corner, and the maps' size.
    corners: Vec<(usize, usize)>,
    map: (usize, usize),
    base: Tiles,
}

impl Pairs {
    /// The pairs for maps of `height x width`, with white where the maps go.
    pub fn new(filters: &Filters, height: usize, width: usize, columns: usize) -> Pairs {
        let zoom = (height / filters.size.max(1)).max(1);
        let f = filter_tiles(filters, 1, zoom);
        let side = filters.size * zoom;
        let (h, w) = (height.max(side), side + GAP + width);
        let columns = columns.clamp(1, filters.count.max(1));
        let rows = filters.count.div_ceil(columns);
        let total_w = columns * w + (columns - 1) * PAIR_GAP;
        let total_h = rows * h + (rows - 1) * PAIR_GAP;
        let mut rgba = [255u8, 255, 255, 255].repeat(total_w * total_h);
        let mut corners = Vec::with_capacity(filters.count);
        for i in 0..filters.count {
            let (x0, y0) = (
                (i % columns) * (w + PAIR_GAP),
                (i / columns) * (h + PAIR_GAP),
            );
            for y in 0..side {
                // Filter i is row block i of the one-column filter tiles.
                let from = ((i * (side + GAP) + y) * f.width) * 4;
                let to = ((y0 + y) * total_w + x0) * 4;
                rgba[to..to + side * 4].copy_from_slice(&f.rgba[from..from + side * 4]);
            }
            corners.push((x0 + side + GAP, y0));
        }
        Pairs {
            count: filters.count,
            corners,
            map: (height, width),
            base: Tiles {
                width: total_w,
                height: total_h,
                columns,
                rgba,
            },
        }
    }

    /// The pairs with `maps` painted in (the filters alone if `maps` does not fit them).
    pub fn paint(&self, maps: &LayerView) -> Tiles {
        let mut t = self.base.clone();
        if maps.channels != self.count || (maps.height, maps.width) != self.map {
            return t;
        }
        let shade = Shade::new(magnitude(&maps.values));
        for (i, &(mx, my)) in self.corners.iter().enumerate() {
            for (p, &v) in maps.channel(i).iter().enumerate() {
                let at = ((my + p / maps.width) * t.width + mx + p % maps.width) * 4;
                t.rgba[at..at + 4].copy_from_slice(&shade.at(v));
            }
        }
        t
    }
}

fn tiles_in(view: &LayerView, columns: usize) -> Tiles {
    let rows = view.channels.div_ceil(columns).max(1);
    let (h, w) = (view.height, view.width);
    let width = columns * w + (columns - 1) * GAP;
    let height = rows * h + (rows - 1) * GAP;
    let mut rgba = [200u8, 204, 210, 255].repeat(width * height);
    // A sigmoid's values are shares (0 to 1) on their own: shaded on that scale, so a single
    // "how sure of one digit" value shows how sure, not always full.
    let scale = if view.op == "Sigmoid" {
        1.0
    } else {
        magnitude(&view.values)
    };
    let shade = Shade::new(scale);
    for c in 0..view.channels {
        let (x0, y0) = ((c % columns) * (w + GAP), (c / columns) * (h + GAP));
        for (row, values) in view.channel(c).chunks_exact(w).enumerate() {
            let at = ((y0 + row) * width + x0) * 4;
            for (px, &v) in rgba[at..at + w * 4].chunks_exact_mut(4).zip(values) {
                px.copy_from_slice(&shade.at(v));
            }
        }
    }
    Tiles {
        width,
        height,
        columns,
        rgba,
    }
}

/// One way of changing a drawing's 28x28 input, for the robustness strip.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    ShiftLeft,
    ShiftRight,
    ShiftUp,
    ShiftDown,
    RotateLeft,
    RotateRight,
    Thicker,
    Thinner,
}

/// Pixels a shifted variant moves.
pub const SHIFT: i32 = 4;
/// Degrees a rotated variant turns.
pub const TURN: f32 = 25.0;

impl Variant {
    pub const ALL: [Variant; 8] = [
        Variant::ShiftLeft,
        Variant::ShiftRight,
        Variant::ShiftUp,
        Variant::ShiftDown,
        Variant::RotateLeft,
        Variant::RotateRight,
        Variant::Thicker,
        Variant::Thinner,
    ];

    /// A stable name (the page's `data-variant`).
    pub fn id(self) -> &'static str {
        match self {
            Variant::ShiftLeft => "shift-left",
            Variant::ShiftRight => "shift-right",
            Variant::ShiftUp => "shift-up",
            Variant::ShiftDown => "shift-down",
            Variant::RotateLeft => "rotate-left",
            Variant::RotateRight => "rotate-right",
            Variant::Thicker => "thicker",
            Variant::Thinner => "thinner",
        }
    }

    /// What a user reads under it.
    pub fn label(self) -> String {
        match self {
            Variant::ShiftLeft => format!("{SHIFT} px left"),
            Variant::ShiftRight => format!("{SHIFT} px right"),
            Variant::ShiftUp => format!("{SHIFT} px up"),
            Variant::ShiftDown => format!("{SHIFT} px down"),
            Variant::RotateLeft => format!("turned {TURN}° left"),
            Variant::RotateRight => format!("turned {TURN}° right"),
            Variant::Thicker => "thicker".into(),
            Variant::Thinner => "thinner".into(),
        }
    }

    /// The variant of a 28x28 input (784 values, 0 = background).
    pub fn apply(self, input: &[f32]) -> Vec<f32> {
        match self {
            Variant::ShiftLeft => shift(input, -SHIFT, 0),
            Variant::ShiftRight => shift(input, SHIFT, 0),
            Variant::ShiftUp => shift(input, 0, -SHIFT),
            Variant::ShiftDown => shift(input, 0, SHIFT),
            Variant::RotateLeft => rotate(input, -TURN),
            Variant::RotateRight => rotate(input, TURN),
            Variant::Thicker => morph(input, f32::max),
            Variant::Thinner => morph(input, f32::min),
        }
    }
}

/// `input` moved by (dx, dy) pixels; what leaves the image is lost, what enters is background.
fn shift(input: &[f32], dx: i32, dy: i32) -> Vec<f32> {
    let side = SIDE as i32;
    (0..PIXELS as i32)
        .map(|i| {
            let (x, y) = (i % side - dx, i / side - dy);
            if (0..side).contains(&x) && (0..side).contains(&y) {
                input[(y * side + x) as usize]
            } else {
                0.0
            }
        })
        .collect()
}

/// `input` turned by `degrees` (positive: clockwise on screen) about the image centre, with
/// bilinear sampling.
fn rotate(input: &[f32], degrees: f32) -> Vec<f32> {
    let (sin, cos) = degrees.to_radians().sin_cos();
    let c = (SIDE as f32 - 1.0) / 2.0;
    let at = |x: i32, y: i32| {
        if (0..SIDE as i32).contains(&x) && (0..SIDE as i32).contains(&y) {
            input[y as usize * SIDE + x as usize]
        } else {
            0.0
        }
    };
    (0..PIXELS)
        .map(|i| {
            let (x, y) = ((i % SIDE) as f32 - c, (i / SIDE) as f32 - c);
            // The source of each output pixel: the inverse rotation.
            let (sx, sy) = (cos * x + sin * y + c, -sin * x + cos * y + c);
            let (x0, y0) = (sx.floor(), sy.floor());
            let (fx, fy) = (sx - x0, sy - y0);
            let (x0, y0) = (x0 as i32, y0 as i32);
            at(x0, y0) * (1.0 - fx) * (1.0 - fy)
                + at(x0 + 1, y0) * fx * (1.0 - fy)
                + at(x0, y0 + 1) * (1.0 - fx) * fy
                + at(x0 + 1, y0 + 1) * fx * fy
        })
        .collect()
}

/// Grey-level dilation (`f32::max`) or erosion (`f32::min`) with a plus-shaped element: strokes
/// one pixel thicker or thinner on each side.
fn morph(input: &[f32], pick: fn(f32, f32) -> f32) -> Vec<f32> {
    let side = SIDE as i32;
    (0..PIXELS as i32)
        .map(|i| {
            let (x, y) = (i % side, i / side);
            [(0, 0), (-1, 0), (1, 0), (0, -1), (0, 1)]
                .iter()
                .map(|&(dx, dy)| {
                    let (nx, ny) = (x + dx, y + dy);
                    if (0..side).contains(&nx) && (0..side).contains(&ny) {
                        input[(ny * side + nx) as usize]
                    } else {
                        0.0
                    }
                })
                .reduce(pick)
                .unwrap_or(0.0)
        })
        .collect()
}

/// Side of the square an occlusion map blanks at a time, in pixels.
pub const PATCH: usize = 4;
/// Pixels between two positions of the patch.
pub const STRIDE: usize = 2;

/// An occlusion map: how much blanking each part of the input lowers the model's belief in a
/// digit.
#[derive(Debug, Clone, PartialEq)]
pub struct Occlusion {
    pub digit: usize,
    /// Per pixel (784), the mean fall of ln p(digit) when a patch covering it is blanked:
    /// positive where the ink supports the answer, negative where it speaks against it.
    pub values: Vec<f32>,
    /// How many times the model ran (patches with ink under them, plus one for the input).
    pub runs: usize,
}

/// The occlusion map of `input` for `digit`: a [`PATCH`]-pixel square is blanked at every
/// [`STRIDE`] and the input read again by `classify`. A patch over background changes nothing
/// (blank is background), so only patches with ink under them are read: the map is exact, not
/// sampled. `None` if `classify` fails.
pub fn occlusion(
    input: &[f32],
    digit: usize,
    mut classify: impl FnMut(&[f32]) -> Option<[f32; CLASSES]>,
) -> Option<Occlusion> {
    if input.len() != PIXELS || digit >= CLASSES {
        return None;
    }
    let belief = |p: &[f32; CLASSES]| p[digit].max(1e-30).ln();
    let base = belief(&classify(input)?);
    let mut sum = vec![0.0f32; PIXELS];
    let mut covered = vec![0u32; PIXELS];
    let mut runs = 1;
    let mut blanked = input.to_vec();
    for y0 in (0..=SIDE - PATCH).step_by(STRIDE) {
        for x0 in (0..=SIDE - PATCH).step_by(STRIDE) {
            let pixels =
                || (y0..y0 + PATCH).flat_map(move |y| (x0..x0 + PATCH).map(move |x| y * SIDE + x));
            for i in pixels() {
                covered[i] += 1;
            }
            if pixels().all(|i| input[i] == 0.0) {
                continue;
            }
            pixels().for_each(|i| blanked[i] = 0.0);
            let fall = base - belief(&classify(&blanked)?);
            runs += 1;
            for i in pixels() {
                sum[i] += fall;
                blanked[i] = input[i];
            }
        }
    }
    let values = sum
        .iter()
        .zip(&covered)
        .map(|(&s, &n)| if n > 0 { s / n as f32 } else { 0.0 })
        .collect();
    Some(Occlusion {
        digit,
        values,
        runs,
    })
}

/// The occlusion map over the input as RGBA (28x28): the drawing in grey, red where the ink
/// supports the answer, blue where it speaks against it, on the map's own scale.
pub fn occlusion_rgba(input: &[f32], map: &Occlusion) -> Vec<u8> {
    let scale = magnitude(&map.values);
    input
        .iter()
        .zip(&map.values)
        .flat_map(|(&ink, &v)| {
            let grey = 255.0 - 90.0 * ink.clamp(0.0, 1.0);
            let t = if scale > 0.0 {
                (v / scale).clamp(-1.0, 1.0)
            } else {
                0.0
            };
            let (to, t) = if t >= 0.0 {
                ([200.0, 20.0, 30.0], t)
            } else {
                ([20.0, 90.0, 220.0], -t)
            };
            let mix = |c: f32| (grey + (c - grey) * t).round() as u8;
            [mix(to[0]), mix(to[1]), mix(to[2]), 255]
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Model;

    const MODEL: &[u8] = include_bytes!("../../../web/assets/model.onnx");

    /// A 7-ish stroke: a bar and a slanted line.
    fn seven() -> Vec<f32> {
        let mut img = vec![0.0; PIXELS];
        for x in 8..21 {
            img[7 * SIDE + x] = 1.0;
            img[8 * SIDE + x] = 0.6;
        }
        for y in 8..23 {
            let x = 20 - (y - 8) * 2 / 3;
            img[y * SIDE + x] = 1.0;
            img[y * SIDE + x - 1] = 0.5;
        }
        img
    }

    #[test]
    fn the_filters_are_the_ones_the_first_layer_applies() {
        let model = Model::from_bytes_with_layers(MODEL, "model.onnx").unwrap();
        let f = Filters::from_onnx(MODEL).expect("the shipped model has a first convolution");
        assert!(Filters::from_onnx(b"not onnx").is_none());
        assert_eq!((f.count, f.channels_in, f.size), (16, 1, 3));
        let input = seven();
        let views = model.layers(&input).unwrap();
        // The first shown layer is the ReLU of that convolution (padding 1).
        let maps = &views[1];
        assert_eq!(
            (maps.op.as_str(), maps.channels, maps.height),
            ("Relu", 16, SIDE)
        );
        let at = |x: i32, y: i32| {
            let inside = (0..SIDE as i32).contains(&x) && (0..SIDE as i32).contains(&y);
            if inside {
                input[y as usize * SIDE + x as usize]
            } else {
                0.0
            }
        };
        for i in 0..f.count {
            let k = f.kernel(i);
            for p in 0..PIXELS {
                let (x, y) = ((p % SIDE) as i32, (p / SIDE) as i32);
                let mut sum = f.bias[i];
                for (j, w) in k.iter().enumerate() {
                    sum += w * at(x + (j % 3) as i32 - 1, y + (j / 3) as i32 - 1);
                }
                let got = maps.channel(i)[p];
                assert!(
                    (sum.max(0.0) - got).abs() < 1e-4,
                    "filter {i} at {p}: {sum} vs {got}"
                );
            }
        }
        assert!(f.weights.iter().any(|&w| w != 0.0));
    }

    #[test]
    fn tiles_lay_channels_out_in_rows_of_eight_on_one_scale() {
        let mut values = vec![0.0; 16 * 4];
        values[4] = 2.0; // channel 1, first pixel: the largest value
        values[8] = -1.0; // channel 2
        let view = LayerView {
            name: "relu".into(),
            op: "Relu".into(),
            channels: 16,
            height: 2,
            width: 2,
            values,
        };
        let t = tiles(&view);
        assert_eq!((t.columns, t.width, t.height), (8, 8 * 2 + 7, 2 * 2 + 1));
        assert_eq!(t.rgba.len(), t.width * t.height * 4);
        let px = |x: usize, y: usize| &t.rgba[(y * t.width + x) * 4..(y * t.width + x) * 4 + 4];
        assert_eq!(px(0, 0), [255, 255, 255, 255], "zero is white");
        assert_eq!(px(3, 0), colour(2.0, 2.0), "channel 1 starts after a gap");
        assert_eq!(px(2, 0), [200, 204, 210, 255], "the gap");
        assert_eq!(px(6, 0), colour(-1.0, 2.0));
        assert_ne!(colour(-1.0, 2.0), colour(1.0, 2.0));
        // A vector is one row; a NaN is white, never a panic.
        let vector = LayerView {
            channels: 10,
            height: 1,
            width: 1,
            values: vec![f32::NAN; 10],
            ..view
        };
        let t = tiles(&vector);
        assert_eq!((t.columns, t.width, t.height), (10, 10 * CELL + 9, CELL));
        assert_eq!(&t.rgba[..4], [255, 255, 255, 255]);
        // A sigmoid's one value is shaded on 0 to 1, not on itself: 0.25 is a quarter.
        let sure = |v: f32| {
            let t = tiles(&LayerView {
                name: "sure".into(),
                op: "Sigmoid".into(),
                channels: 1,
                height: 1,
                width: 1,
                values: vec![v],
            });
            t.rgba[..4].to_vec()
        };
        assert_eq!(sure(0.25), colour(0.25, 1.0));
        assert_eq!(sure(1.0), colour(1.0, 1.0));
        assert_ne!(sure(0.25), sure(1.0));
    }

    #[test]
    fn filter_tiles_upscale_each_kernel() {
        let f = Filters {
            layer: "conv_1".into(),
            count: 2,
            channels_in: 1,
            size: 3,
            weights: (0..18).map(|v| v as f32 - 9.0).collect(),
            bias: vec![0.0; 2],
        };
        let t = filter_tiles(&f, 2, 4);
        assert_eq!((t.width, t.height), (2 * 12 + 1, 12));
        let px = |x: usize, y: usize| &t.rgba[(y * t.width + x) * 4..(y * t.width + x) * 4 + 4];
        // Weight (row 0, col 0) of filter 0 is -9, the largest magnitude, on a 4x4 block.
        assert_eq!(px(0, 0), colour(-9.0, 9.0));
        assert_eq!(px(3, 3), colour(-9.0, 9.0));
        assert_eq!(px(4, 0), colour(-8.0, 9.0));
        assert_eq!(px(13, 0), colour(0.0, 9.0));
    }

    #[test]
    fn pairs_put_each_filter_beside_its_map() {
        let f = Filters {
            layer: "conv_1".into(),
            count: 3,
            channels_in: 1,
            size: 3,
            weights: (0..27)
                .map(|v| if v % 9 == 0 { 1.0 } else { 0.0 })
                .collect(),
            bias: vec![0.0; 3],
        };
        let maps = LayerView {
            name: "relu_2".into(),
            op: "Relu".into(),
            channels: 3,
            height: 6,
            width: 6,
            values: (0..108).map(|v| (v / 36) as f32).collect(),
        };
        let t = pairs(&f, &maps, 2);
        // A pair is 6 (filter, zoom 2) + 1 + 6 wide; two to a row, 4 pixels apart.
        assert_eq!((t.columns, t.width, t.height), (2, 2 * 13 + 4, 2 * 6 + 4));
        let px = |x: usize, y: usize| &t.rgba[(y * t.width + x) * 4..(y * t.width + x) * 4 + 4];
        // Filter 1's top-left weight (its largest) and map 1 (value 1), at the second pair.
        assert_eq!(px(17, 0), colour(1.0, 1.0));
        assert_eq!(px(17 + 2, 0), colour(0.0, 1.0));
        assert_eq!(px(17 + 7, 0), colour(1.0, 2.0));
        // Map 0 is all zero: white; map 2 (third pair, second row) is the darkest.
        assert_eq!(px(7, 0), [255, 255, 255, 255]);
        assert_eq!(px(7, 10), colour(2.0, 2.0));
        // A layer that does not match shows the filters alone, the maps' places left white.
        let other = LayerView {
            values: vec![1.0; 72],
            channels: 2,
            ..maps.clone()
        };
        let alone = pairs(&f, &other, 2);
        assert_eq!(
            alone.rgba[(10 * alone.width + 7) * 4..][..4],
            [255, 255, 255, 255]
        );
        assert_eq!(alone.rgba[..4], t.rgba[..4], "the filters are there");
        // Painting twice from one drawing of the filters gives the same as drawing them anew.
        let once = Pairs::new(&f, 6, 6, 2);
        assert_eq!(once.paint(&maps), t);
        assert_eq!(once.paint(&maps), t);
    }

    fn mass(img: &[f32]) -> f32 {
        img.iter().sum()
    }

    #[test]
    fn variants_move_turn_thicken_and_thin_the_drawing() {
        let input = seven();
        let centre = crate::preprocess::centre_of_mass(&input).unwrap();
        for v in Variant::ALL {
            let out = v.apply(&input);
            assert_eq!(out.len(), PIXELS);
            assert!(out.iter().all(|p| (0.0..=1.0).contains(p)), "{v:?}");
            let c = crate::preprocess::centre_of_mass(&out).unwrap();
            let (dx, dy) = (c.0 - centre.0, c.1 - centre.1);
            let s = SHIFT as f32;
            match v {
                Variant::ShiftLeft => assert!((dx + s).abs() < 1e-3 && dy.abs() < 1e-3),
                Variant::ShiftRight => assert!((dx - s).abs() < 1e-3 && dy.abs() < 1e-3),
                Variant::ShiftUp => assert!((dy + s).abs() < 1e-3),
                Variant::ShiftDown => assert!((dy - s).abs() < 1e-3),
                Variant::RotateLeft | Variant::RotateRight => {
                    assert!((mass(&out) - mass(&input)).abs() < 0.05 * mass(&input));
                }
                Variant::Thicker => assert!(mass(&out) > 1.5 * mass(&input)),
                Variant::Thinner => assert!(mass(&out) < 0.7 * mass(&input)),
            }
        }
        assert_eq!(
            Variant::ALL
                .iter()
                .map(|v| v.id())
                .collect::<std::collections::HashSet<_>>()
                .len(),
            8
        );
        // Turning a horizontal bar a quarter turn makes it vertical; clockwise on screen.
        let mut bar = vec![0.0; PIXELS];
        (4..24).for_each(|x| bar[13 * SIDE + x] = 1.0);
        let turned = rotate(&bar, 90.0);
        assert!(turned[4 * SIDE + 14] > 0.9 || turned[4 * SIDE + 13] > 0.9);
        assert!(turned[13 * SIDE + 4] < 0.1);
        let top_right = rotate(&bar, 45.0);
        let c = crate::preprocess::centre_of_mass(&top_right).unwrap();
        assert!((c.0 - 13.5).abs() < 1.0 && (c.1 - 13.5).abs() < 1.0);
        // The bar's right end goes down under a clockwise turn.
        let right_end = |img: &[f32]| (0..SIDE).filter(|&y| img[y * SIDE + 20] > 0.2).max();
        assert!(right_end(&top_right).unwrap() > 14);
        assert_eq!(rotate(&input, 0.0), input);
    }

    #[test]
    fn occlusion_reads_only_patches_with_ink_and_finds_what_the_answer_rests_on() {
        let input = seven();
        // A stand-in model that believes in 7 as much as there is ink in the top rows.
        let classify = |x: &[f32]| {
            let top: f32 = x[..9 * SIDE].iter().sum();
            let p7 = (top / 30.0).clamp(0.01, 0.99);
            let mut p = [(1.0 - p7) / 9.0; CLASSES];
            p[7] = p7;
            Some(p)
        };
        let map = occlusion(&input, 7, classify).unwrap();
        let inked = (0..=SIDE - PATCH)
            .step_by(STRIDE)
            .flat_map(|y| (0..=SIDE - PATCH).step_by(STRIDE).map(move |x| (x, y)))
            .filter(|&(x, y)| {
                (y..y + PATCH).any(|yy| (x..x + PATCH).any(|xx| input[yy * SIDE + xx] > 0.0))
            })
            .count();
        assert_eq!(map.runs, inked + 1);
        assert!(map.runs < 13 * 13 / 2, "{}", map.runs);
        // The bar supports the answer; the far background and the lower stroke do not.
        assert!(map.values[7 * SIDE + 12] > 0.1);
        assert_eq!(map.values[27 * SIDE], 0.0);
        assert!(map.values[20 * SIDE + 12].abs() < 1e-6);
        let rgba = occlusion_rgba(&input, &map);
        assert_eq!(rgba.len(), PIXELS * 4);
        // A failing model gives no map; so does a digit out of range.
        assert!(occlusion(&input, 7, |_| None).is_none());
        assert!(occlusion(&input, 10, classify).is_none());
    }
}
