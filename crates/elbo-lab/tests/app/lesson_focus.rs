//! Lessons show what their captions say: at the projector sizes (1024x768 at zoom 1.5 and
//! 1280x720 at zoom 1.75, presenter mode), every step brings each plot, section and line of
//! numbers its caption refers to into view, whole (not folded, not scrolled out, not behind
//! a toggle), and every number its caption quotes is on screen there with the same digits.
//! Snapshots of every step at 1024x768 zoom 1.5. `UPDATE_SNAPSHOTS=1 cargo test -p
//! elbo-lab --test app lesson_focus` rewrites them.

use crate::common::app;
use egui_kittest::kittest::{NodeT, Queryable};
use egui_kittest::{Harness, SnapshotResults};
use elbo_lab::app::focus::{Mark, Target, marks};
use elbo_lab::app::lessons::{Quote, lesson_count, lessons};
use elbo_lab::app::settings::Settings;
use elbo_lab::app::{App, Command};

/// The projector sizes: pixels and zoom.
const SIZES: [([f32; 2], f32); 2] = [([1024.0, 768.0], 1.5), ([1280.0, 720.0], 1.75)];

/// Frames a step may take to settle (its results computed inline, then drawn and
/// scrolled to).
const MAX_FRAMES: usize = 60;

fn presenter(size: [f32; 2], zoom: f32, gpu: bool) -> Harness<'static, App> {
    let s = Settings {
        presenter: true,
        ..Settings::default()
    };
    app(s)
        .pixels(size[0], size[1])
        .zoom(zoom)
        .gpu(gpu)
        .steps(2)
        .build()
}

/// Open step `i` and run frames until it has settled (it stops revealing).
fn open_step(h: &mut Harness<'static, App>, i: usize) {
    let ctx = h.ctx.clone();
    h.state_mut().apply(&ctx, Command::StartLesson(i));
    for _ in 0..MAX_FRAMES {
        h.run_steps(1);
        if !h.state().window.reveal {
            break;
        }
    }
    assert!(
        !h.state().window.reveal,
        "step {} did not settle in {MAX_FRAMES} frames",
        i + 1
    );
    h.run_steps(2);
}

/// Where `target` was drawn in the last pass, if it was.
fn mark_of(h: &Harness<'static, App>, target: Target) -> Option<Mark> {
    marks(&h.ctx).into_iter().find(|m| m.target == target)
}

/// The text a node shows: a label's, else its value (egui gives a label's text as its
/// value).
fn text_of(node: &egui_kittest::Node<'_>) -> String {
    let n = node.accesskit_node();
    n.label().or_else(|| n.value()).unwrap_or_default()
}

/// Whether `text` shows `digits`: a number written so, or one that rounds to them at their
/// precision ("4.3579" shows "4.358" and "4.36", not "4.35"); never a part of a
/// longer number ("14.41" does not show "4.4"). `digits` may start with words ("linear t =
/// 260"): those must stand in front of the number.
fn shows_number(text: &str, digits: &str) -> bool {
    let split = digits
        .rfind(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-' || c == '%'))
        .map_or(0, |k| k + 1);
    let (words, number) = digits.split_at(split);
    let bytes = text.as_bytes();
    text.match_indices(words).any(|(at, _)| {
        let before = at.checked_sub(1).map(|k| bytes[k] as char);
        if !words.is_empty() && before.is_some_and(|c| c.is_ascii_alphanumeric()) {
            return false;
        }
        if words.is_empty() && before.is_some_and(|c| c.is_ascii_digit() || c == '.') {
            return false;
        }
        let rest = &text[at + words.len()..];
        let token: String = rest
            .chars()
            .enumerate()
            .take_while(|(k, c)| c.is_ascii_digit() || *c == '.' || (*k == 0 && *c == '-'))
            .map(|(_, c)| c)
            .collect();
        if token.is_empty() {
            return number.is_empty();
        }
        let (bare, unit) = number.split_at(number.trim_end_matches('%').len());
        if !rest[token.len()..].starts_with(unit) && !unit.is_empty() {
            return false;
        }
        if token == bare {
            return true;
        }
        let decimals = bare.split_once('.').map_or(0, |(_, d)| d.len());
        token
            .parse::<f64>()
            .is_ok_and(|v| format!("{v:.decimals$}") == bare)
    })
}

/// `caption` with TeX subscripts (`_0`, `_{t-1}`) blanked out, offsets kept: they name
/// things, they are not numbers.
fn without_subscripts(caption: &str) -> String {
    let mut out = String::with_capacity(caption.len());
    let mut depth = 0usize;
    let mut after_underscore = false;
    for c in caption.chars() {
        let blank = if after_underscore {
            after_underscore = false;
            if c == '{' {
                depth = 1;
            }
            true
        } else if depth > 0 {
            match c {
                '{' => depth += 1,
                '}' => depth -= 1,
                _ => {}
            }
            true
        } else if c == '_' {
            after_underscore = true;
            true
        } else {
            false
        };
        if blank {
            out.extend(std::iter::repeat_n(' ', c.len_utf8()));
        } else {
            out.push(c);
        }
    }
    out
}

/// Every number written in `caption` (digits with an optional decimal part), outside TeX
/// subscripts.
fn numbers_in(caption: &str) -> Vec<(usize, String)> {
    let caption = &without_subscripts(caption);
    let mut out = Vec::new();
    let chars: Vec<(usize, char)> = caption.char_indices().collect();
    let mut k = 0;
    while k < chars.len() {
        let (at, c) = chars[k];
        if c.is_ascii_digit() {
            let mut end = k;
            while end + 1 < chars.len()
                && (chars[end + 1].1.is_ascii_digit()
                    || (chars[end + 1].1 == '.'
                        && chars.get(end + 2).is_some_and(|c| c.1.is_ascii_digit())))
            {
                end += 1;
            }
            let stop = chars.get(end + 1).map_or(caption.len(), |c| c.0);
            out.push((at, caption[at..stop].to_owned()));
            k = end + 1;
        } else {
            k += 1;
        }
    }
    out
}

/// The ranges of `caption` that the quotes and givens of a step cover.
fn covered(caption: &str, quotes: &[Quote], given: &[&str]) -> Vec<(usize, usize)> {
    quotes
        .iter()
        .map(|q| q.caption)
        .chain(given.iter().copied())
        .flat_map(|part| {
            caption
                .match_indices(part)
                .map(|(at, m)| (at, at + m.len()))
                .collect::<Vec<_>>()
        })
        .collect()
}

#[test]
fn every_caption_number_is_a_quote_or_a_given() {
    for (i, l) in lessons().iter().enumerate() {
        for q in &l.quotes {
            assert!(
                l.scene.caption.iter().any(|c| c.contains(q.caption)),
                "step {}: the quote {:?} is not in the caption",
                i + 1,
                q.caption
            );
        }
        for line in &l.scene.caption {
            let cover = covered(line, &l.quotes, &l.given);
            for (at, number) in numbers_in(line) {
                assert!(
                    cover
                        .iter()
                        .any(|(a, b)| *a <= at && at + number.len() <= *b),
                    "step {}: {number} in {line:?} is neither quoted nor given",
                    i + 1
                );
            }
        }
    }
}

#[test]
fn every_step_shows_what_its_caption_says_at_the_projector_sizes() {
    let shots = std::env::var_os("ELBO_LAB_LESSON_SHOTS").map(std::path::PathBuf::from);
    let mut failures = Vec::new();
    for (size, zoom) in SIZES {
        let mut h = presenter(size, zoom, shots.is_some());
        for i in 0..lesson_count() {
            open_step(&mut h, i);
            if let Some(dir) = &shots {
                let _ = std::fs::create_dir_all(dir);
                if let Ok(image) = h.render() {
                    let _ = image.save(dir.join(format!("{}x{}_{}.png", size[0], size[1], i + 1)));
                }
            }
            let lesson = &lessons()[i];
            assert!(!lesson.shows.is_empty(), "step {} refers to nothing", i + 1);
            let at = format!("step {} at {}x{} zoom {zoom}", i + 1, size[0], size[1]);
            let screen = h.ctx.content_rect();
            let mut seen = Vec::new();
            for target in &lesson.shows {
                let Some(mark) = mark_of(&h, *target) else {
                    failures.push(format!("{at}: {target:?} is not drawn"));
                    continue;
                };
                if !(mark.visible() && screen.expand(0.5).contains_rect(mark.rect)) {
                    failures.push(format!(
                        "{at}: {target:?} at {:?} is not whole in view {:?}",
                        mark.rect, mark.clip
                    ));
                }
                seen.push(mark.rect);
            }
            for quote in &lesson.quotes {
                // Every node with text: the quote may be a rounding of what is shown.
                let on_screen = h
                    .query_all_by_label_contains("")
                    .filter(|n| shows_number(&text_of(n), quote.screen))
                    .any(|n| {
                        let r = n.rect();
                        seen.iter().any(|s| s.expand(1.0).contains_rect(r))
                    });
                let candidates: Vec<String> = h
                    .query_all_by_label_contains("")
                    .filter(|n| shows_number(&text_of(n), quote.screen))
                    .map(|n| format!("{:?} at {:?}", text_of(&n), n.rect()))
                    .collect();
                if !on_screen {
                    failures.push(format!(
                        "{at}: {:?} (quoted as {:?}) is not in view in what the step shows {seen:?}; labels with it: {candidates:?}",
                        quote.screen, quote.caption
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn snapshots_of_every_step_at_1024x768_zoom_1_5() {
    let mut h = presenter([1024.0, 768.0], 1.5, true);
    let mut results = SnapshotResults::new();
    for i in 0..lesson_count() {
        open_step(&mut h, i);
        results.add(h.try_snapshot(format!("lesson_{}", i + 1)));
    }
}

#[test]
fn number_matching_takes_whole_numbers_and_their_leading_digits() {
    assert!(shows_number("NELBO 4.41 nats", "4.4"));
    assert!(shows_number("KL 1.631e-4", "1.6"));
    assert!(!shows_number("NELBO 14.41 nats", "4.4"));
    assert!(!shows_number("0.452", "452"));
    assert!(shows_number("t = 260,", "260"));
    assert!(shows_number("Sum 4.3579 nats", "4.358"));
    assert!(shows_number("Sum 4.3579 nats", "4.36"));
    assert!(!shows_number("Sum 4.3579 nats", "4.35"));
    assert!(shows_number(
        "linear t = 260, cosine t = 500",
        "linear t = 260"
    ));
    assert!(!shows_number("linear t = 2601", "linear t = 260"));
    assert!(shows_number("A: 3.4 (80%)", "80%"));
    assert!(shows_number("log-SNR = -5.3640", "-5.36"));
    assert_eq!(
        numbers_in("at $t = 250$ (0.52), 4 \\cdot 10^{-5}, x_0, L_{t-1}"),
        [
            (8, "250".to_owned()),
            (14, "0.52".to_owned()),
            (21, "4".to_owned()),
            (29, "10".to_owned()),
            (34, "5".to_owned())
        ]
    );
}
