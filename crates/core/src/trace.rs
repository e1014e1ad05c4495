//! Pen strokes from a scanned digit, as a person would have drawn it: the 28x28 image is
//! upsampled and thresholded, thinned to a one-pixel skeleton, turned into a graph of pieces
//! between line ends and junctions (spurs and specks removed, close junctions merged), and the
//! pieces are joined through each junction where the line goes on most straight. The strokes
//! come out smoothed, in writing order (top first, then left) and direction (from the top or
//! the left; loops from the top, anticlockwise).
//!
//! It feeds the drawn-digit benchmark and the trainer's pen augmentation; the page never runs it.
//! [`trace_lines`] traces a picture of any size the same way, without joining pieces: the
//! number reader's pieces of a picture (`segment::Reader::ink`).

use crate::SIDE;
use crate::preprocess::Stroke;

/// Changes whenever the tracer's output changes, so cached traces are made again.
pub const VERSION: u32 = 4;

// THRESHOLD, SPUR and BLOT (tracer 4) were chosen on the first 30,000 MNIST training digits: the
// settings whose drawings the shipped model misread least (docs/performance.md, *Tracer 4*).

/// Upsampling factor: the skeleton of a 28x28 digit is too coarse to follow curves.
const UP: usize = 4;
/// The widest a stroke is measured, in grid pixels.
const MAX_WIDTH: f32 = 4.0 * UP as f32;
/// Ink at or above this (after bilinear upsampling) is part of the stroke.
const THRESHOLD: f32 = 0.45;
/// A branch from a junction to a line end shorter than this many stroke widths is a spur.
const SPUR: f32 = 0.3;
/// Two junctions closer than this many stroke widths are one crossing.
const MERGE: f32 = 0.9;
/// Ink farther than this many half stroke widths from the paper is a filled loop (see
/// `open_blots`).
const BLOT: f32 = 1.9;
/// A loop shorter than this many stroke widths is a blot, not a loop.
const SMALL_LOOP: f32 = 2.0;
/// Two pieces meeting at a junction are one stroke if the line turns by less than this (cosine
/// of the angle between the pieces' directions away from the junction must be below it).
const STRAIGHT: f32 = -0.5;
/// How far along a piece its direction at a junction is measured, in stroke widths.
const REACH: f32 = 1.5;

/// The eight neighbours, clockwise from north: (dx, dy).
const RING: [(i32, i32); 8] = [
    (0, -1),
    (1, -1),
    (1, 0),
    (1, 1),
    (0, 1),
    (-1, 1),
    (-1, 0),
    (-1, -1),
];

/// The strokes of a 28x28 digit (row-major, 0..1 ink), in the image's pixel-index coordinates;
/// empty for a blank image. A closed stroke (a loop) ends where it starts.
pub fn trace(img: &[f32]) -> Vec<Stroke> {
    assert_eq!(img.len(), SIDE * SIDE, "a 28x28 image");
    trace_grid(img, (SIDE, SIDE), UP as f32, true).0
}

/// The lines of a `width` x `height` picture's ink (row-major, 0..1), in its pixel-index
/// coordinates: its skeleton's pieces between line ends and junctions, never joined through a
/// junction (where two digits of a number touch, the line of one does not go on into the
/// other), traced on a grid `scale` times as fine as the picture (the tracer's constants suit
/// a line of digits about 80 grid pixels tall). Also the lines' width in the picture's pixels.
/// Empty for a blank picture.
pub fn trace_lines(img: &[f32], width: usize, height: usize, scale: f32) -> (Vec<Stroke>, f32) {
    assert_eq!(img.len(), width * height, "a {width}x{height} picture");
    trace_grid(img, (width, height), scale, false)
}

/// The strokes of an image (of `size`, 0..1 ink) traced on a grid `scale` times as fine, with
/// pieces joined through junctions where the line goes on straight (`join`) or not; and the
/// line's width in the image's pixels.
fn trace_grid(img: &[f32], size: (usize, usize), scale: f32, join: bool) -> (Vec<Stroke>, f32) {
    let (dm, mut grid) = binarize(img, size, scale);
    let area = grid.iter().filter(|&&v| v).count();
    if area == 0 {
        return (Vec::new(), 0.0);
    }
    let mut skeleton = grid.clone();
    thin(dm, &mut skeleton);
    // The stroke width, in grid pixels: twice the median distance from the line's middle (its
    // skeleton) to the paper.
    let depth = distance(dm, &grid);
    let mut middle: Vec<u32> = skeleton
        .iter()
        .zip(&depth)
        .filter_map(|(&s, &d)| s.then_some(d))
        .collect();
    middle.sort_unstable();
    // A dot can thin away to nothing: then its depth is its deepest point's.
    let half = middle
        .get(middle.len() / 2)
        .or_else(|| depth.iter().max())
        .map_or(1.0, |&d| d as f32 / 3.0);
    let width = (2.0 * half).clamp(2.0, MAX_WIDTH);
    // A blot much thicker than the line (a loop written so small it filled with ink) was a loop:
    // open its middle, and thinning goes round it.
    if open_blots(&mut grid, &depth, width) {
        skeleton = grid;
        thin(dm, &mut skeleton);
    }
    let mut grid = skeleton;
    remove_corners(dm, &mut grid);
    let mut graph = Graph::from_skeleton(dm, &grid);
    graph.simplify(width);
    let mut strokes: Vec<Stroke> = graph
        .strokes(width, join)
        .into_iter()
        .map(|s| finish(s.points, s.closed, scale))
        .collect();
    if strokes.is_empty() {
        // A blot that thinned away to nothing: a dot where the ink is.
        strokes.push(vec![ink_centre(img, size.0)]);
    }
    strokes.sort_by(|a, b| order_key(a).total_cmp(&order_key(b)));
    (strokes, width / scale)
}

/// Where a stroke comes in writing order: top first, then left.
fn order_key(s: &Stroke) -> f32 {
    s.first().map_or(0.0, |&(x, y)| y + 0.5 * x)
}

/// The centre of the ink of an image `width` pixels wide, in pixel-index coordinates.
fn ink_centre(img: &[f32], width: usize) -> (f32, f32) {
    let mass = img.iter().sum::<f32>().max(f32::MIN_POSITIVE);
    let (sx, sy) = img.iter().enumerate().fold((0.0, 0.0), |(sx, sy), (i, v)| {
        (sx + (i % width) as f32 * v, sy + (i / width) as f32 * v)
    });
    (sx / mass, sy / mass)
}

/// The size of a working grid, its one-pixel empty border included.
#[derive(Clone, Copy, Debug)]
struct Dims {
    w: usize,
    h: usize,
}

impl Dims {
    fn at(self, x: i32, y: i32) -> usize {
        y as usize * self.w + x as usize
    }

    /// Every pixel of the grid inside its border, row by row.
    fn inside(self) -> impl Iterator<Item = (i32, i32)> {
        let (w, h) = (self.w as i32, self.h as i32);
        (1..h - 1).flat_map(move |y| (1..w - 1).map(move |x| (x, y)))
    }
}

/// Bilinear resampling by `scale`, thresholded, into a bordered grid.
fn binarize(img: &[f32], (width, height): (usize, usize), scale: f32) -> (Dims, Vec<bool>) {
    let src = |x: i32, y: i32| -> f32 {
        if (0..width as i32).contains(&x) && (0..height as i32).contains(&y) {
            img[y as usize * width + x as usize]
        } else {
            0.0
        }
    };
    let (gw, gh) = (
        (width as f32 * scale).round().max(1.0) as usize,
        (height as f32 * scale).round().max(1.0) as usize,
    );
    let dm = Dims {
        w: gw + 2,
        h: gh + 2,
    };
    let mut grid = vec![false; dm.w * dm.h];
    for v in 0..gh {
        for u in 0..gw {
            let (sx, sy) = (to_source(u as f32, scale), to_source(v as f32, scale));
            let (x0, y0) = (sx.floor(), sy.floor());
            let (fx, fy) = (sx - x0, sy - y0);
            let (x0, y0) = (x0 as i32, y0 as i32);
            let top = src(x0, y0) * (1.0 - fx) + src(x0 + 1, y0) * fx;
            let bottom = src(x0, y0 + 1) * (1.0 - fx) + src(x0 + 1, y0 + 1) * fx;
            grid[(v + 1) * dm.w + u + 1] = top * (1.0 - fy) + bottom * fy >= THRESHOLD;
        }
    }
    (dm, grid)
}

/// A working-grid coordinate (without the border) in the source image's pixel coordinates.
fn to_source(u: f32, scale: f32) -> f32 {
    (u + 0.5) / scale - 0.5
}

/// Chamfer distance of every pixel to the paper, in thirds of a pixel (3 per step, 4 per
/// diagonal step), by two passes.
fn distance(dm: Dims, grid: &[bool]) -> Vec<u32> {
    const FAR: u32 = u32::MAX / 2;
    let mut d: Vec<u32> = grid.iter().map(|&v| if v { FAR } else { 0 }).collect();
    let (w, h) = (dm.w as i32, dm.h as i32);
    for y in 1..h - 1 {
        for x in 1..w - 1 {
            let i = dm.at(x, y);
            if d[i] > 0 {
                d[i] = d[i]
                    .min(d[dm.at(x - 1, y)] + 3)
                    .min(d[dm.at(x, y - 1)] + 3)
                    .min(d[dm.at(x - 1, y - 1)] + 4)
                    .min(d[dm.at(x + 1, y - 1)] + 4);
            }
        }
    }
    for y in (1..h - 1).rev() {
        for x in (1..w - 1).rev() {
            let i = dm.at(x, y);
            if d[i] > 0 {
                d[i] = d[i]
                    .min(d[dm.at(x + 1, y)] + 3)
                    .min(d[dm.at(x, y + 1)] + 3)
                    .min(d[dm.at(x + 1, y + 1)] + 4)
                    .min(d[dm.at(x - 1, y + 1)] + 4);
            }
        }
    }
    d
}

/// Clears the middle of every part of the ink much thicker than a line `width` pixels wide
/// (farther than [`BLOT`] half-widths from the paper, by `d`, [`distance`]). Returns whether
/// it cleared any.
fn open_blots(grid: &mut [bool], d: &[u32], width: f32) -> bool {
    let limit = (BLOT * width / 2.0 * 3.0) as u32;
    let core = d.iter().filter(|&&v| v > limit).count();
    // A hole of a pixel or two closes again as the outline is peeled: not worth opening.
    if core < 4 {
        return false;
    }
    for (g, &v) in grid.iter_mut().zip(d) {
        if v > limit {
            *g = false;
        }
    }
    true
}

/// Which of the eight neighbours of (x, y) are ink, in [`RING`] order.
fn ring(dm: Dims, grid: &[bool], x: i32, y: i32) -> [bool; 8] {
    RING.map(|(dx, dy)| grid[dm.at(x + dx, y + dy)])
}

/// Zhang-Suen thinning: peels the outline in two alternating passes until only a line one
/// pixel wide is left, keeping its connections.
fn thin(dm: Dims, grid: &mut [bool]) {
    let mut doomed = Vec::new();
    loop {
        let mut changed = false;
        for pass in 0..2 {
            doomed.clear();
            for (x, y) in dm.inside() {
                if !grid[dm.at(x, y)] {
                    continue;
                }
                let p = ring(dm, grid, x, y);
                let b = p.iter().filter(|&&v| v).count();
                let a = (0..8).filter(|&i| !p[i] && p[(i + 1) % 8]).count();
                let (n, e, s, w) = (p[0], p[2], p[4], p[6]);
                let ok = if pass == 0 {
                    !(e && s && (n || w))
                } else {
                    !(n && w && (e || s))
                };
                if (2..=6).contains(&b) && a == 1 && ok {
                    doomed.push(dm.at(x, y));
                }
            }
            for &i in &doomed {
                grid[i] = false;
            }
            changed |= !doomed.is_empty();
        }
        if !changed {
            break;
        }
    }
}

/// How many separate groups the ink neighbours of a pixel form (8-connected among themselves).
fn neighbour_groups(p: &[bool; 8]) -> usize {
    let mut seen = [false; 8];
    let mut groups = 0;
    for start in 0..8 {
        if !p[start] || seen[start] {
            continue;
        }
        groups += 1;
        let mut stack = vec![start];
        seen[start] = true;
        while let Some(i) = stack.pop() {
            for j in 0..8 {
                let (a, b) = (RING[i], RING[j]);
                let touching = (a.0 - b.0).abs() <= 1 && (a.1 - b.1).abs() <= 1;
                if p[j] && !seen[j] && touching {
                    seen[j] = true;
                    stack.push(j);
                }
            }
        }
    }
    groups
}

/// Removes the pixels thinning leaves in staircases and corners (their neighbours stay
/// connected without them), so every pixel of a line has exactly two neighbours.
fn remove_corners(dm: Dims, grid: &mut [bool]) {
    for (x, y) in dm.inside() {
        if !grid[dm.at(x, y)] {
            continue;
        }
        let p = ring(dm, grid, x, y);
        let n = p.iter().filter(|&&v| v).count();
        if n >= 2 && neighbour_groups(&p) == 1 {
            grid[dm.at(x, y)] = false;
        }
    }
}

/// A piece of line between two nodes (or a closed loop, `a == b`), as grid points.
#[derive(Clone, Debug)]
struct Edge {
    a: usize,
    b: usize,
    points: Vec<(f32, f32)>,
}

impl Edge {
    fn length(&self) -> f32 {
        length(&self.points)
    }
}

fn length(points: &[(f32, f32)]) -> f32 {
    points
        .windows(2)
        .map(|w| ((w[1].0 - w[0].0).powi(2) + (w[1].1 - w[0].1).powi(2)).sqrt())
        .sum()
}

/// Line ends and junctions, and the pieces between them. Removed edges are `None`.
#[derive(Debug, Default)]
struct Graph {
    nodes: Vec<(f32, f32)>,
    edges: Vec<Option<Edge>>,
    /// Closed loops with no node on them (a clean "0").
    rings: Vec<Vec<(f32, f32)>>,
}

/// One stroke made of graph pieces.
struct Traced {
    points: Vec<(f32, f32)>,
    closed: bool,
}

impl Graph {
    fn from_skeleton(dm: Dims, grid: &[bool]) -> Graph {
        let ink = |x: i32, y: i32| grid[dm.at(x, y)];
        let degree = |x: i32, y: i32| ring(dm, grid, x, y).iter().filter(|&&v| v).count();
        let pt = |x: i32, y: i32| (x as f32, y as f32);
        // Node pixels: line ends, dots and junctions; touching junction pixels are one node.
        let mut node_of = vec![usize::MAX; dm.w * dm.h];
        let mut g = Graph::default();
        for (x, y) in dm.inside() {
            if !ink(x, y) || degree(x, y) == 2 || node_of[dm.at(x, y)] != usize::MAX {
                continue;
            }
            let id = g.nodes.len();
            let junction = degree(x, y) > 2;
            let (mut sx, mut sy, mut n) = (0.0, 0.0, 0.0);
            let mut stack = vec![(x, y)];
            node_of[dm.at(x, y)] = id;
            while let Some((cx, cy)) = stack.pop() {
                sx += cx as f32;
                sy += cy as f32;
                n += 1.0;
                if !junction {
                    continue;
                }
                for (dx, dy) in RING {
                    let (nx, ny) = (cx + dx, cy + dy);
                    if ink(nx, ny) && degree(nx, ny) > 2 && node_of[dm.at(nx, ny)] == usize::MAX {
                        node_of[dm.at(nx, ny)] = id;
                        stack.push((nx, ny));
                    }
                }
            }
            g.nodes.push((sx / n, sy / n));
        }
        // Pieces: from every node pixel along each line leaving it, to the next node.
        let mut visited = vec![false; dm.w * dm.h];
        let mut linked = std::collections::HashSet::new();
        for (x, y) in dm.inside() {
            let from = node_of[dm.at(x, y)];
            if !ink(x, y) || from == usize::MAX {
                continue;
            }
            for (dx, dy) in RING {
                let (nx, ny) = (x + dx, y + dy);
                if !ink(nx, ny) {
                    continue;
                }
                let to = node_of[dm.at(nx, ny)];
                if to != usize::MAX {
                    // Two nodes side by side: a piece one pixel long.
                    if to != from && linked.insert((from.min(to), from.max(to))) {
                        g.add(from, to, vec![pt(x, y), pt(nx, ny)]);
                    }
                    continue;
                }
                if visited[dm.at(nx, ny)] {
                    continue;
                }
                let mut points = vec![g.nodes[from], pt(x, y), pt(nx, ny)];
                let (mut prev, mut cur) = ((x, y), (nx, ny));
                visited[dm.at(nx, ny)] = true;
                let end = loop {
                    let next =
                        RING.iter()
                            .map(|(dx, dy)| (cur.0 + dx, cur.1 + dy))
                            .find(|&(qx, qy)| {
                                ink(qx, qy)
                                    && (qx, qy) != prev
                                    && (node_of[dm.at(qx, qy)] != usize::MAX
                                        || !visited[dm.at(qx, qy)])
                            });
                    match next {
                        Some(q) if node_of[dm.at(q.0, q.1)] != usize::MAX => {
                            points.push(pt(q.0, q.1));
                            break Some(node_of[dm.at(q.0, q.1)]);
                        }
                        Some(q) => {
                            visited[dm.at(q.0, q.1)] = true;
                            points.push(pt(q.0, q.1));
                            (prev, cur) = (cur, q);
                        }
                        None => break None,
                    }
                };
                // A dead end without a node (cannot happen on a clean skeleton): stop there.
                let to = end.unwrap_or_else(|| {
                    g.nodes.push(*points.last().unwrap());
                    g.nodes.len() - 1
                });
                points.push(g.nodes[to]);
                g.add(from, to, points);
            }
        }
        // What is left are loops without a node.
        for (x, y) in dm.inside() {
            if !ink(x, y) || visited[dm.at(x, y)] || node_of[dm.at(x, y)] != usize::MAX {
                continue;
            }
            let mut points = vec![pt(x, y)];
            visited[dm.at(x, y)] = true;
            let mut cur = (x, y);
            while let Some(q) = RING
                .iter()
                .map(|(dx, dy)| (cur.0 + dx, cur.1 + dy))
                .find(|&(qx, qy)| ink(qx, qy) && !visited[dm.at(qx, qy)])
            {
                visited[dm.at(q.0, q.1)] = true;
                points.push(pt(q.0, q.1));
                cur = q;
            }
            points.push(points[0]);
            g.rings.push(points);
        }
        g
    }

    fn add(&mut self, a: usize, b: usize, points: Vec<(f32, f32)>) {
        self.edges.push(Some(Edge { a, b, points }));
    }

    fn live(&self) -> impl Iterator<Item = (usize, &Edge)> {
        self.edges
            .iter()
            .enumerate()
            .filter_map(|(i, e)| e.as_ref().map(|e| (i, e)))
    }

    /// Edge ends at each node (a loop from a node to itself counts twice).
    fn degrees(&self) -> Vec<usize> {
        let mut d = vec![0; self.nodes.len()];
        for (_, e) in self.live() {
            d[e.a] += 1;
            d[e.b] += 1;
        }
        d
    }

    /// Removes spurs, blots and specks, merges close junctions, and joins pieces through nodes
    /// that only two pieces meet at; until nothing changes.
    fn simplify(&mut self, width: f32) {
        loop {
            let deg = self.degrees();
            let total: f32 = self.live().map(|(_, e)| e.length()).sum::<f32>()
                + self.rings.iter().map(|r| length(r)).sum::<f32>();
            // The shortest removable piece first, one change at a time.
            let mut best: Option<(f32, usize, Change)> = None;
            for (i, e) in self.live() {
                let len = e.length();
                let (da, db) = (deg[e.a], deg[e.b]);
                let blot = e.a == e.b && len < SMALL_LOOP * width;
                let spur = (da == 1) != (db == 1) && da.max(db) >= 3 && len < SPUR * width;
                let change = if blot && da == 2 {
                    // A small ring on its own: a dot of ink, kept as one point.
                    Some(Change::Shrink)
                } else if blot || spur {
                    Some(Change::Remove)
                } else if da == 1 && db == 1 && len < width && len < total - len {
                    // A speck beside the digit.
                    Some(Change::Remove)
                } else if e.a != e.b && da >= 3 && db >= 3 && len < MERGE * width {
                    Some(Change::Merge)
                } else {
                    None
                };
                if let Some(c) = change
                    && best.as_ref().is_none_or(|(l, _, _)| len < *l)
                {
                    best = Some((len, i, c));
                }
            }
            match best {
                Some((_, i, Change::Remove)) => self.edges[i] = None,
                Some((_, i, Change::Shrink)) => {
                    let e = self.edges[i].take().expect("live edge");
                    self.rings.push(vec![centroid(&e.points)]);
                }
                Some((_, i, Change::Merge)) => {
                    let e = self.edges[i].take().expect("live edge");
                    let (pa, pb) = (self.nodes[e.a], self.nodes[e.b]);
                    let mid = ((pa.0 + pb.0) / 2.0, (pa.1 + pb.1) / 2.0);
                    self.nodes[e.a] = mid;
                    for slot in self.edges.iter_mut().flatten() {
                        for end in [&mut slot.a, &mut slot.b] {
                            if *end == e.b {
                                *end = e.a;
                            }
                        }
                    }
                    self.move_ends(e.a, mid);
                }
                None => {
                    if !self.join_through_pairs() {
                        return;
                    }
                }
            }
        }
    }

    /// Makes every piece ending at `node` end exactly at its (moved) position.
    fn move_ends(&mut self, node: usize, p: (f32, f32)) {
        for e in self.edges.iter_mut().flatten() {
            if e.a == node {
                e.points[0] = p;
            }
            if e.b == node {
                *e.points.last_mut().unwrap() = p;
            }
        }
    }

    /// Joins the two pieces at every node exactly two distinct pieces meet at. Returns whether
    /// anything changed.
    fn join_through_pairs(&mut self) -> bool {
        let deg = self.degrees();
        for (node, &d) in deg.iter().enumerate() {
            if d != 2 {
                continue;
            }
            let ends: Vec<usize> = self
                .live()
                .filter(|(_, e)| e.a == node || e.b == node)
                .map(|(i, _)| i)
                .collect();
            match ends[..] {
                [i] => {
                    // A loop through this node only: a ring.
                    let e = self.edges[i].take().expect("live edge");
                    self.rings.push(e.points);
                    return true;
                }
                [i, j] => {
                    let mut e1 = self.edges[i].take().expect("live edge");
                    let mut e2 = self.edges[j].take().expect("live edge");
                    // Orient e1 to end at the node and e2 to start there.
                    if e1.b != node {
                        e1.points.reverse();
                        std::mem::swap(&mut e1.a, &mut e1.b);
                    }
                    if e2.a != node {
                        e2.points.reverse();
                        std::mem::swap(&mut e2.a, &mut e2.b);
                    }
                    e1.points.extend_from_slice(&e2.points[1..]);
                    self.add(e1.a, e2.b, e1.points);
                    return true;
                }
                _ => {}
            }
        }
        false
    }

    /// The strokes: pieces joined through junctions where the line goes on most straight (with
    /// `join`; without, each piece is a stroke of its own).
    fn strokes(&self, width: f32, join: bool) -> Vec<Traced> {
        // At each node, pair the piece ends that continue each other.
        let mut partner: std::collections::HashMap<(usize, bool), (usize, bool)> =
            Default::default();
        let nodes = if join { self.nodes.len() } else { 0 };
        for node in 0..nodes {
            // (edge, at its start?) and the direction away from the node.
            let ends: Vec<((usize, bool), (f32, f32))> = self
                .live()
                .flat_map(|(i, e)| {
                    let mut v = Vec::new();
                    if e.a == node {
                        v.push(((i, true), direction(&e.points, width)));
                    }
                    if e.b == node {
                        let rev: Vec<_> = e.points.iter().rev().copied().collect();
                        v.push(((i, false), direction(&rev, width)));
                    }
                    v
                })
                .collect();
            if ends.len() < 2 {
                continue;
            }
            let mut pairs: Vec<(f32, usize, usize)> = Vec::new();
            for i in 0..ends.len() {
                for j in i + 1..ends.len() {
                    let (u, v) = (ends[i].1, ends[j].1);
                    pairs.push((u.0 * v.0 + u.1 * v.1, i, j));
                }
            }
            pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
            let mut used = vec![false; ends.len()];
            for (cos, i, j) in pairs {
                if cos < STRAIGHT && !used[i] && !used[j] {
                    used[i] = true;
                    used[j] = true;
                    partner.insert(ends[i].0, ends[j].0);
                    partner.insert(ends[j].0, ends[i].0);
                }
            }
        }
        let mut done = vec![false; self.edges.len()];
        let mut out = Vec::new();
        // Follows pieces from the end `start` on; returns the points and whether it came back.
        let follow = |start: (usize, bool), done: &mut Vec<bool>| -> Traced {
            let mut points: Vec<(f32, f32)> = Vec::new();
            let (mut edge, mut at_start) = start;
            loop {
                done[edge] = true;
                let e = self.edges[edge].as_ref().expect("live edge");
                let piece: Vec<(f32, f32)> = if at_start {
                    e.points.clone()
                } else {
                    e.points.iter().rev().copied().collect()
                };
                let skip = usize::from(!points.is_empty());
                points.extend_from_slice(&piece[skip..]);
                // The far end of this piece, and the piece it goes on into.
                let far = (edge, !at_start);
                match partner.get(&far) {
                    Some(&(next, next_at_start)) if !done[next] => {
                        (edge, at_start) = (next, next_at_start);
                    }
                    Some(&next) if next == start => {
                        return Traced {
                            points,
                            closed: true,
                        };
                    }
                    _ => {
                        return Traced {
                            points,
                            closed: false,
                        };
                    }
                }
            }
        };
        // Open strokes start at an end with no partner; what is left goes round in circles.
        for (i, _) in self.live() {
            for at_start in [true, false] {
                if !done[i] && !partner.contains_key(&(i, at_start)) {
                    out.push(follow((i, at_start), &mut done));
                }
            }
        }
        for (i, _) in self.live() {
            if !done[i] {
                out.push(follow((i, true), &mut done));
            }
        }
        for r in &self.rings {
            out.push(Traced {
                points: r.clone(),
                closed: r.len() > 1,
            });
        }
        out
    }
}

enum Change {
    Remove,
    Shrink,
    Merge,
}

fn centroid(points: &[(f32, f32)]) -> (f32, f32) {
    let n = points.len().max(1) as f32;
    let (sx, sy) = points
        .iter()
        .fold((0.0, 0.0), |(sx, sy), p| (sx + p.0, sy + p.1));
    (sx / n, sy / n)
}

/// The unit direction of a piece leaving its first point, measured [`REACH`] stroke widths
/// along it (or to its middle, if shorter).
fn direction(points: &[(f32, f32)], width: f32) -> (f32, f32) {
    let reach = (REACH * width).min(length(points) / 2.0);
    let start = points[0];
    let mut walked = 0.0;
    let mut target = *points.last().unwrap();
    for w in points.windows(2) {
        walked += ((w[1].0 - w[0].0).powi(2) + (w[1].1 - w[0].1).powi(2)).sqrt();
        if walked >= reach {
            target = w[1];
            break;
        }
    }
    let (dx, dy) = (target.0 - start.0, target.1 - start.1);
    let n = (dx * dx + dy * dy).sqrt();
    if n > 0.0 {
        (dx / n, dy / n)
    } else {
        (0.0, 0.0)
    }
}

/// A traced stroke in source coordinates: smoothed, simplified, and turned to be drawn the way
/// people draw (open strokes from the top or left end, loops from the top, anticlockwise).
fn finish(points: Vec<(f32, f32)>, closed: bool, scale: f32) -> Stroke {
    let mut p: Vec<(f32, f32)> = points
        .iter()
        .map(|&(x, y)| (to_source(x - 1.0, scale), to_source(y - 1.0, scale)))
        .collect();
    if p.len() <= 1 {
        return p;
    }
    if closed {
        p.pop();
        p = smooth(&p, true);
        // Start at the top, going anticlockwise as seen (negative area with y pointing down).
        let top = (0..p.len())
            .min_by(|&a, &b| p[a].1.total_cmp(&p[b].1))
            .unwrap_or(0);
        p.rotate_left(top);
        if signed_area(&p) > 0.0 {
            p[1..].reverse();
        }
        p.push(p[0]);
    } else {
        p = smooth(&p, false);
        let (a, b) = (p[0], p[p.len() - 1]);
        if b.1 + 0.5 * b.0 < a.1 + 0.5 * a.0 {
            p.reverse();
        }
    }
    // A tenth of a pixel of a 28x28 digit (a line height of about 20 pixels).
    simplify(&p, 0.48 / scale)
}

/// Shoelace sum of a closed polygon (twice its signed area).
fn signed_area(p: &[(f32, f32)]) -> f32 {
    (0..p.len())
        .map(|i| {
            let (a, b) = (p[i], p[(i + 1) % p.len()]);
            a.0 * b.1 - b.0 * a.1
        })
        .sum()
}

/// A moving average over three points (the ends of an open line stay where they are).
fn smooth(p: &[(f32, f32)], closed: bool) -> Vec<(f32, f32)> {
    let n = p.len() as i32;
    if n < 5 {
        return p.to_vec();
    }
    (0..n)
        .map(|i| {
            let k = if closed { 1 } else { i.min(n - 1 - i).min(1) };
            let (mut sx, mut sy) = (0.0, 0.0);
            for j in i - k..=i + k {
                let q = p[j.rem_euclid(n) as usize];
                sx += q.0;
                sy += q.1;
            }
            let m = (2 * k + 1) as f32;
            (sx / m, sy / m)
        })
        .collect()
}

/// Ramer-Douglas-Peucker: the fewest points that stay within `eps` of the line.
fn simplify(p: &[(f32, f32)], eps: f32) -> Vec<(f32, f32)> {
    if p.len() <= 2 {
        return p.to_vec();
    }
    let mut keep = vec![false; p.len()];
    keep[0] = true;
    keep[p.len() - 1] = true;
    let mut stack = vec![(0, p.len() - 1)];
    while let Some((a, b)) = stack.pop() {
        let (mut far, mut at) = (0.0, 0);
        for i in a + 1..b {
            let d = crate::preprocess::distance_to_segment(p[i], p[a], p[b]);
            if d > far {
                (far, at) = (d, i);
            }
        }
        if far > eps {
            keep[at] = true;
            stack.push((a, at));
            stack.push((at, b));
        }
    }
    p.iter()
        .zip(keep)
        .filter_map(|(&q, k)| k.then_some(q))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::preprocess::{Ink, distance_to_segment};

    /// A 28x28 digit drawn with a round pen of `radius` pixels along `strokes`.
    fn draw(strokes: &[Stroke], radius: f32) -> Vec<f32> {
        let mut ink = Ink::new(SIDE, SIDE);
        for s in strokes {
            let c = |p: (f32, f32)| (p.0 + 0.5, p.1 + 0.5);
            ink.paint_segment(c(s[0]), c(s[0]), radius);
            for w in s.windows(2) {
                ink.paint_segment(c(w[0]), c(w[1]), radius);
            }
        }
        ink.data
    }

    fn near_line(p: (f32, f32), line: &[(f32, f32)]) -> f32 {
        line.windows(2)
            .map(|w| distance_to_segment(p, w[0], w[1]))
            .fold(f32::MAX, f32::min)
    }

    /// Every traced point lies within `tol` pixels of the true lines, and every true point
    /// (sampled every half pixel, ends trimmed by `trim`) within `tol` of a traced line.
    fn assert_follows(traced: &[Stroke], truth: &[Stroke], tol: f32, trim: f32) {
        for p in traced.iter().flatten() {
            let d = truth
                .iter()
                .map(|t| near_line(*p, t))
                .fold(f32::MAX, f32::min);
            assert!(d <= tol, "traced point {p:?} is {d} px off the drawing");
        }
        for t in truth {
            let total = length(t);
            for w in t.windows(2) {
                let seg = length(w);
                let steps = (seg * 2.0).ceil() as usize;
                for k in 0..=steps {
                    let f = k as f32 / steps as f32;
                    let p = (
                        w[0].0 + f * (w[1].0 - w[0].0),
                        w[0].1 + f * (w[1].1 - w[0].1),
                    );
                    let along =
                        length(&t[..t.iter().position(|q| *q == w[0]).unwrap() + 1]) + f * seg;
                    if along < trim || total - along < trim {
                        continue;
                    }
                    let d = traced
                        .iter()
                        .map(|s| {
                            if s.len() == 1 {
                                distance_to_segment(p, s[0], s[0])
                            } else {
                                near_line(p, s)
                            }
                        })
                        .fold(f32::MAX, f32::min);
                    assert!(
                        d <= tol,
                        "true point {p:?} is {d} px from every traced stroke: {traced:?}"
                    );
                }
            }
        }
    }

    fn dist(a: (f32, f32), b: (f32, f32)) -> f32 {
        ((a.0 - b.0).powi(2) + (a.1 - b.1).powi(2)).sqrt()
    }

    fn circle(cx: f32, cy: f32, rx: f32, ry: f32, from: f32, to: f32) -> Stroke {
        (0..=48)
            .map(|i| {
                let t = from + (to - from) * i as f32 / 48.0;
                (cx + rx * t.cos(), cy + ry * t.sin())
            })
            .collect()
    }

    #[test]
    fn a_blank_image_has_no_strokes_and_a_blot_is_a_dot() {
        assert!(trace(&[0.0; SIDE * SIDE]).is_empty());
        let blot = draw(&[vec![(14.0, 10.0)]], 1.5);
        let strokes = trace(&blot);
        assert_eq!(strokes.len(), 1, "{strokes:?}");
        assert!(
            strokes[0].iter().all(|&p| dist(p, (14.0, 10.0)) < 1.0),
            "{strokes:?}"
        );
    }

    #[test]
    fn a_line_is_one_stroke_from_its_top_or_left_end() {
        for (line, radius) in [
            (vec![(6.0, 14.0), (22.0, 14.0)], 1.2),
            (vec![(14.0, 5.0), (13.0, 23.0)], 1.2),
            (vec![(22.0, 6.0), (7.0, 22.0)], 2.0),
            // Written the other way round: still traced from the top.
            (vec![(13.0, 23.0), (14.0, 5.0)], 2.5),
        ] {
            let strokes = trace(&draw(std::slice::from_ref(&line), radius));
            assert_eq!(strokes.len(), 1, "{line:?}: {strokes:?}");
            let s = &strokes[0];
            let (top, bottom) = if line[0].1 + 0.5 * line[0].0 < line[1].1 + 0.5 * line[1].0 {
                (line[0], line[1])
            } else {
                (line[1], line[0])
            };
            assert!(dist(s[0], top) < 1.5, "starts at {:?}, not {top:?}", s[0]);
            assert!(
                dist(*s.last().unwrap(), bottom) < 1.5,
                "ends at {:?}",
                s.last()
            );
            assert_follows(&strokes, &[line], 0.8, 1.0);
        }
    }

    #[test]
    fn a_corner_is_kept_in_one_stroke() {
        // An "L" and a "7": one stroke each, through the corner.
        for line in [
            vec![(9.0, 5.0), (9.0, 22.0), (20.0, 22.0)],
            vec![(7.0, 6.0), (21.0, 6.0), (12.0, 23.0)],
        ] {
            let strokes = trace(&draw(std::slice::from_ref(&line), 1.3));
            assert_eq!(strokes.len(), 1, "{strokes:?}");
            assert!(dist(strokes[0][0], line[0]) < 1.5);
            assert_follows(&strokes, &[line], 1.5, 1.0);
        }
    }

    #[test]
    fn a_ring_is_one_closed_stroke_from_the_top_anticlockwise() {
        let ring = circle(14.0, 14.0, 6.0, 8.5, 0.0, std::f32::consts::TAU);
        let strokes = trace(&draw(std::slice::from_ref(&ring), 1.4));
        assert_eq!(strokes.len(), 1, "{strokes:?}");
        let s = &strokes[0];
        assert_eq!(s.first(), s.last(), "closed");
        assert!(s[0].1 < 7.0, "starts at the top: {:?}", s[0]);
        // Anticlockwise as seen: from the top it goes left first.
        assert!(s[1].0 < s[0].0, "goes left from the top: {s:?}");
        assert_follows(&strokes, &[ring], 1.0, 0.0);
    }

    #[test]
    fn crossing_lines_are_two_straight_strokes() {
        // A "+" and an "x": two strokes, each one of the lines, not four pieces.
        for lines in [
            vec![
                vec![(5.0, 14.0), (23.0, 14.0)],
                vec![(14.0, 4.0), (14.0, 24.0)],
            ],
            vec![
                vec![(6.0, 6.0), (22.0, 22.0)],
                vec![(22.0, 6.0), (6.0, 22.0)],
            ],
        ] {
            let strokes = trace(&draw(&lines, 1.3));
            assert_eq!(strokes.len(), 2, "{strokes:?}");
            for s in &strokes {
                let (a, b) = (s[0], *s.last().unwrap());
                let straight = lines.iter().any(|l| {
                    (dist(a, l[0]) < 1.5 && dist(b, l[1]) < 1.5)
                        || (dist(a, l[1]) < 1.5 && dist(b, l[0]) < 1.5)
                });
                assert!(straight, "{s:?} is not one of {lines:?}");
            }
            assert_follows(&strokes, &lines, 1.0, 1.0);
        }
    }

    #[test]
    fn a_pictures_lines_break_at_every_junction_whatever_its_size() {
        // A "+" (28x28, and the same drawn five times as large with a pen to match): four lines
        // from the crossing, not the two strokes `trace` makes; in the picture's own pixels,
        // and the pen's width measured in them too.
        let lines = vec![
            vec![(5.0, 14.0), (23.0, 14.0)],
            vec![(14.0, 4.0), (14.0, 24.0)],
        ];
        for k in [1.0f32, 5.0] {
            let side = (SIDE as f32 * k) as usize;
            let mut ink = Ink::new(side, side);
            let at = |p: (f32, f32)| ((p.0 + 0.5) * k, (p.1 + 0.5) * k);
            for l in &lines {
                ink.paint_segment(at(l[0]), at(l[1]), 1.3 * k);
            }
            let (traced, width) = trace_lines(&ink.data, side, side, 4.0 / k);
            assert_eq!(traced.len(), 4, "x{k}: {traced:?}");
            let scaled: Vec<Stroke> = lines
                .iter()
                .map(|l| l.iter().map(|&p| (p.0 * k, p.1 * k)).collect())
                .collect();
            assert_follows(&traced, &scaled, 1.0 * k, 1.0 * k);
            assert!((2.0 * k..3.4 * k).contains(&width), "x{k}: width {width}");
        }
        assert_eq!(trace_lines(&[0.0; 6], 3, 2, 4.0), (Vec::new(), 0.0));
    }

    #[test]
    fn a_t_is_a_bar_and_a_stem() {
        let lines = vec![
            vec![(6.0, 6.0), (22.0, 6.0)],
            vec![(14.0, 6.0), (14.0, 23.0)],
        ];
        let strokes = trace(&draw(&lines, 1.3));
        assert_eq!(strokes.len(), 2, "{strokes:?}");
        // The bar first (top), drawn left to right.
        assert!(dist(strokes[0][0], (6.0, 6.0)) < 1.5, "{strokes:?}");
        assert!(
            dist(*strokes[0].last().unwrap(), (22.0, 6.0)) < 1.5,
            "{strokes:?}"
        );
        assert!(
            dist(*strokes[1].last().unwrap(), (14.0, 23.0)) < 1.5,
            "{strokes:?}"
        );
        assert_follows(&strokes, &lines, 1.0, 1.0);
    }

    #[test]
    fn a_six_is_one_stroke_down_the_stem_into_its_loop() {
        // A stem from the top right curving down into a loop at the bottom.
        use std::f32::consts::PI;
        let mut six: Stroke = vec![(18.0, 4.0), (12.0, 9.0), (9.0, 15.0)];
        six.extend(circle(14.0, 18.0, 5.0, 5.0, PI * 1.05, PI * 3.05));
        let strokes = trace(&draw(std::slice::from_ref(&six), 1.3));
        assert_eq!(strokes.len(), 1, "{strokes:?}");
        assert!(
            dist(strokes[0][0], (18.0, 4.0)) < 1.5,
            "starts at the top: {strokes:?}"
        );
        assert_follows(&strokes, &[six], 1.2, 1.0);
    }

    #[test]
    fn an_eight_is_one_stroke_through_its_crossing() {
        use std::f32::consts::PI;
        // A figure of eight whose lines cross at the middle, as a written 8.
        let eight: Stroke = (0..=64)
            .map(|i| {
                let t = 2.0 * PI * i as f32 / 64.0;
                (14.0 + 10.0 * t.sin() * t.cos(), 14.0 - 9.5 * t.sin())
            })
            .collect();
        let strokes = trace(&draw(std::slice::from_ref(&eight), 1.2));
        assert_eq!(strokes.len(), 1, "{strokes:?}");
        assert_follows(&strokes, &[eight], 1.2, 0.0);
    }

    #[test]
    fn a_loop_filled_with_ink_is_traced_round() {
        // A "9" whose head was written so small that it filled: a disc of ink on a stem.
        let mut img = draw(&[vec![(17.0, 10.0), (16.0, 24.0)]], 1.2);
        for y in 0..SIDE {
            for x in 0..SIDE {
                let d = ((x as f32 - 14.0).powi(2) + (y as f32 - 9.0).powi(2)).sqrt();
                img[y * SIDE + x] = img[y * SIDE + x].max((4.0 - d).clamp(0.0, 1.0));
            }
        }
        let strokes = trace(&img);
        // The head is a loop: traced points on both sides of its middle, above and below it.
        let points: Vec<(f32, f32)> = strokes.iter().flatten().copied().collect();
        let around = |dx: f32, dy: f32| {
            points.iter().any(|&(x, y)| {
                (x - 14.0) * dx + (y - 9.0) * dy > 1.0
                    && (x - 14.0).abs() < 3.5
                    && (y - 9.0).abs() < 3.5
            })
        };
        assert!(
            around(1.0, 0.0) && around(-1.0, 0.0) && around(0.0, 1.0) && around(0.0, -1.0),
            "{strokes:?}"
        );
        // A plain thick stroke is not opened up.
        let bar = trace(&draw(&[vec![(6.0, 14.0), (22.0, 14.0)]], 2.0));
        assert_eq!(bar.len(), 1, "{bar:?}");
        assert!(bar[0].first() != bar[0].last(), "not a loop: {bar:?}");
    }

    #[test]
    fn a_thick_line_has_no_spurs_and_specks_are_dropped() {
        // A thick, blunt bar: thinning leaves forks at its ends, which are spurs.
        let mut img = vec![0.0f32; SIDE * SIDE];
        for y in 11..17 {
            for x in 6..22 {
                img[y * SIDE + x] = 1.0;
            }
        }
        // A speck of dust away from the bar.
        img[3 * SIDE + 3] = 1.0;
        let strokes = trace(&img);
        assert_eq!(strokes.len(), 1, "{strokes:?}");
        assert_follows(&strokes, &[vec![(6.0, 13.5), (21.0, 13.5)]], 1.0, 3.0);
    }

    #[test]
    fn tracing_is_deterministic_and_stays_in_the_image() {
        // A "4": a diagonal turning into a bar, crossed by a stem.
        let lines = vec![
            vec![(15.0, 4.0), (6.0, 17.0), (21.0, 17.0)],
            vec![(16.0, 8.0), (16.0, 25.0)],
        ];
        let img = draw(&lines, 1.4);
        let a = trace(&img);
        assert_eq!(a, trace(&img));
        assert!(
            a.iter()
                .flatten()
                .all(|&(x, y)| (-1.0..29.0).contains(&x) && (-1.0..29.0).contains(&y))
        );
        // Sharp corners come out rounded by up to about 1.7 pixels.
        assert_follows(&a, &lines, 1.8, 1.5);
    }
}
