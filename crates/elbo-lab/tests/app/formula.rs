//! The formula typesetter (`elbo_lab::app::formula`): parsing, layout geometry, the plain
//! text, the cache, bad input, and a rendered catalogue to look at.

use std::sync::Arc;

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use elbo_lab::app::formula::{self, Laid, Node, catalogue, layout, parse, plain};
use proptest::prelude::*;

const SIZE: f32 = 16.0;

/// Run `f` inside one egui pass (fonts exist only there).
fn with_ctx<R>(f: impl FnOnce(&egui::Context) -> R) -> R {
    let ctx = egui::Context::default();
    let mut f = Some(f);
    let mut result = None;
    let mut out = ctx.run_ui(egui::RawInput::default(), |ui| {
        if let Some(f) = f.take() {
            result = Some(f(ui.ctx()));
        }
    });
    out.textures_delta.clear();
    result.expect("the pass ran")
}

fn lay(src: &str) -> Arc<Laid> {
    with_ctx(|ctx| layout(ctx, src, SIZE))
}

fn finite(l: &Laid) -> bool {
    l.width.is_finite() && l.ascent.is_finite() && l.descent.is_finite() && l.axis.is_finite()
}

#[test]
fn a_subscript_is_lower_and_smaller_than_its_base_a_superscript_higher() {
    let l = lay("x_t");
    let (xs, xb, xx) = l.text("x").expect("x is drawn");
    let (ts, tb, tx) = l.text("t").expect("t is drawn");
    assert_eq!(xs, SIZE);
    assert!(ts < 0.8 * SIZE, "subscript size {ts}");
    assert!(
        tb > xb + 0.1 * SIZE,
        "subscript baseline {tb} vs base {xb} (y down)"
    );
    assert!(tx > xx, "subscript right of its base");

    let l = lay("x^2");
    let (_, xb, _) = l.text("x").expect("x is drawn");
    let (ss, sb, _) = l.text("2").expect("2 is drawn");
    assert!(ss < 0.8 * SIZE);
    assert!(
        sb < xb - 0.25 * SIZE,
        "superscript baseline {sb} vs base {xb}"
    );

    // Both: stacked at (nearly) the same x, the superscript above the subscript.
    let l = lay("x_t^2");
    let (_, tb, tx) = l.text("t").expect("t");
    let (_, sb, sx) = l.text("2").expect("2");
    assert!(sb < 0.0 && tb > 0.0);
    assert!(
        (sx - tx).abs() < 0.2 * SIZE,
        "stacked: sup x {sx}, sub x {tx}"
    );
    // Nested scripts are smaller again, but not below the floor.
    let l = lay("x_{t_k}");
    let (ks, _, _) = l.text("k").expect("k");
    let (ts, _, _) = l.text("t").expect("t");
    assert!(ks < ts && ks >= 0.5 * SIZE, "k {ks}, t {ts}");
}

#[test]
fn a_fraction_is_taller_than_its_numerator_and_centred_on_the_axis() {
    let num = lay("a + b");
    let frac = lay(r"\frac{a + b}{c}");
    assert!(
        frac.height() > num.height() * 1.5,
        "{} vs {}",
        frac.height(),
        num.height()
    );
    assert!(
        frac.descent > 0.2 * SIZE,
        "the denominator goes below the baseline"
    );
    let (as_, ab, _) = frac.text("a").expect("a");
    let (cs, cb, _) = frac.text("c").expect("c");
    assert!(
        as_ < SIZE && cs < SIZE,
        "the parts are smaller: {as_}, {cs}"
    );
    assert!(
        ab < -frac.axis,
        "the numerator's baseline is above the axis"
    );
    assert!(cb > -frac.axis, "the denominator is below the axis");
    // A bar between them.
    let bar = frac
        .items
        .iter()
        .find_map(|i| match i {
            formula::Item::Rule(r) => Some(*r),
            _ => None,
        })
        .expect("a fraction bar");
    assert!((bar.center().y + frac.axis).abs() < 0.5, "bar on the axis");
    assert!(bar.width() >= num.width * 0.8);
    assert!(ab < bar.min.y && cb > bar.max.y);
}

#[test]
fn an_accent_adds_height_but_no_width() {
    for accent in ["bar", "hat", "tilde", "dot"] {
        let plain_alpha = lay(r"\alpha");
        let accented = lay(&format!(r"\{accent}{{\alpha}}"));
        assert!(
            accented.ascent > plain_alpha.ascent + 0.1 * SIZE,
            "{accent}: {} vs {}",
            accented.ascent,
            plain_alpha.ascent
        );
        assert!((accented.width - plain_alpha.width).abs() < 0.01);
        assert!(
            accented.items.len() > plain_alpha.items.len(),
            "{accent} is drawn"
        );
    }
}

#[test]
fn a_sqrt_and_fences_grow_with_their_content() {
    let x = lay("x");
    let root = lay(r"\sqrt{x}");
    assert!(root.ascent > x.ascent && root.width > x.width + 0.3 * SIZE);
    // Parentheses around a fraction are drawn as tall as it is.
    let small = lay("(x)");
    let tall = lay(r"\left(\frac{a}{b}\right)");
    let plain_parens = lay(r"(\frac{a}{b})");
    assert!(tall.height() > small.height() * 1.3);
    assert!((tall.height() - plain_parens.height()).abs() < 0.5);
    // The displayed sum has its limits below and above.
    let sum = lay(r"\sum_{t=2}^{T} L_t");
    let (_, tb, _) = sum.text("T").expect("T");
    let (_, sb, _) = sum.text("∑").expect("∑");
    let (_, twob, _) = sum.text("2").expect("2");
    assert!(
        tb < sb - SIZE * 0.8 && twob > sb + 0.2 * SIZE,
        "T {tb}, sum {sb}, 2 {twob}"
    );
}

#[test]
fn latin_letters_are_italic_digits_names_and_greek_upright() {
    let p = parse(r"x 2 \log \mathrm{SNR} \alpha \Sigma");
    let styles: Vec<_> = p
        .nodes
        .iter()
        .map(|n| match n {
            Node::Sym { style, .. } => *style,
            Node::Group(v) => match &v[0] {
                Node::Sym { style, .. } => *style,
                other => panic!("{other:?}"),
            },
            other => panic!("{other:?}"),
        })
        .collect();
    use formula::Style::{Italic, Upright};
    // Greek upright too: Ubuntu Light's slanted alpha reads as an "a".
    assert_eq!(
        styles,
        [Italic, Upright, Upright, Upright, Upright, Upright]
    );
}

#[test]
fn plain_text_uses_unicode_scripts() {
    assert_eq!(plain("x_0"), "x₀");
    assert_eq!(plain(r"\bar{\alpha}_t"), "α\u{304}ₜ");
    assert_eq!(plain(r"\frac{a}{b}"), "a/b");
    assert_eq!(plain(catalogue::NELBO), "NELBO = L₀ + ∑ₜ₌₂ᵀ Lₜ₋₁ + L_T");
    assert_eq!(plain(catalogue::SNR), "SNR(t) = α\u{304}ₜ/(1 − α\u{304}ₜ)");
    assert_eq!(plain(r"\sigma_\theta^2"), "σ_θ²");
    assert_eq!(plain(r"\mathbb{E}\|x\|^2"), "𝔼‖x‖²");
    assert_eq!(plain(r"\log r"), "log r");
}

#[test]
fn every_catalogue_formula_parses_cleanly_and_lays_out() {
    let ctx_checks = with_ctx(|ctx| {
        catalogue::ALL
            .iter()
            .map(|(name, src, _)| (*name, *src, layout(ctx, src, SIZE)))
            .collect::<Vec<_>>()
    });
    assert!(ctx_checks.len() >= 50);
    for (name, src, l) in ctx_checks {
        let p = parse(src);
        assert!(p.unknown.is_empty(), "{name}: unknown {:?}", p.unknown);
        assert!(!p.unbalanced, "{name} is unbalanced");
        assert!(
            finite(&l) && l.width > 0.0 && l.ascent > 0.0,
            "{name}: {l:?}"
        );
        assert!(l.width < 60.0 * SIZE, "{name}: width {}", l.width);
        for (text, size, baseline, x) in l.texts() {
            assert!(
                !text.contains('?') && !text.contains('\u{FFFD}'),
                "{name}: {text:?}"
            );
            assert!(size >= 0.5 * SIZE && baseline.is_finite() && x.is_finite());
        }
        let plain = plain(src);
        assert!(
            !plain.contains('\\') && !plain.contains('{'),
            "{name}: {plain}"
        );
    }
    for preset in elbo_core::schedule::BetaSchedule::ALL {
        assert!(parse(catalogue::schedule(preset)).unknown.is_empty());
    }
}

#[test]
fn bad_input_is_drawn_literally_and_never_panics() {
    let p = parse(r"\foo x");
    assert_eq!(p.unknown, ["foo"]);
    let l = lay(r"\foo x");
    assert!(
        l.text("foo").is_some(),
        "an unknown command is drawn as its name"
    );
    let p = parse("{a");
    assert!(p.unbalanced);
    assert!(
        lay("{a").text("{").is_some(),
        "an unbalanced brace is drawn"
    );
    assert!(lay("a}").text("}").is_some());
    let nasty = [
        "",
        "\\",
        "{",
        "}",
        "}{",
        "_",
        "^",
        "^^^",
        "__x",
        "x_",
        r"\frac",
        r"\frac{",
        r"\sqrt",
        r"\left(",
        r"\right)",
        r"\left",
        r"\right",
        r"\left(\right",
        r"\bar",
        r"\hat{}",
        r"\mathbb{}",
        r"\text{",
        r"\|",
        r"\|\|\|",
        "((((",
        "))))",
        "|||",
        "[)",
        r"\sum^",
        r"\frac{\frac{\frac{}{}}{}}{}",
        r"x_{y_{z_{w_{v}}}}",
        "\u{0}",
        "\t\n",
        "α_β^γ",
    ];
    with_ctx(|ctx| {
        for src in nasty {
            let l = layout(ctx, src, SIZE);
            assert!(finite(&l), "{src:?}: {l:?}");
            let _ = plain(src);
        }
        let deep = "{".repeat(5000) + &"}".repeat(5000);
        assert!(finite(&layout(ctx, &deep, SIZE)));
        let deep = r"\frac{".repeat(300);
        assert!(finite(&layout(ctx, &deep, SIZE)));
        let deep = "x_".repeat(300);
        assert!(finite(&layout(ctx, &deep, SIZE)));
    });
}

#[test]
fn random_token_soup_lays_out() {
    const TOKENS: &[&str] = &[
        "x",
        "1",
        "+",
        "-",
        "=",
        "(",
        ")",
        "[",
        "]",
        "|",
        r"\|",
        "{",
        "}",
        "^",
        "_",
        r"\frac",
        r"\sqrt",
        r"\left(",
        r"\right)",
        r"\left.",
        r"\bar",
        r"\tilde",
        r"\alpha",
        r"\sum",
        r"\mathbb",
        r"\text",
        r"\log",
        r"\quad",
        r"\unknown",
        " ",
        "\\",
        "~",
        ",",
        "'",
    ];
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    with_ctx(|ctx| {
        for _ in 0..1500 {
            let n = (next() % 24) as usize;
            let src: String = (0..n)
                .map(|_| TOKENS[(next() % TOKENS.len() as u64) as usize])
                .collect();
            let l = layout(ctx, &src, SIZE);
            assert!(finite(&l) && l.width >= 0.0, "{src:?}: {l:?}");
        }
    });
}

proptest! {
    #[test]
    fn any_string_parses(src in ".{0,64}") {
        let p = parse(&src);
        let _ = plain(&src);
        prop_assert!(p.nodes.len() <= src.chars().count());
    }
}

#[test]
fn a_formula_is_laid_out_once_and_cached() {
    let ctx = egui::Context::default();
    let mut first = None;
    for frame in 0..3 {
        let mut out = ctx.run_ui(egui::RawInput::default(), |ui| {
            formula::show(ui, catalogue::SNR);
            formula::show(ui, catalogue::W_X0);
            let l = layout(ui.ctx(), catalogue::SNR, formula::base_size(ui));
            match &first {
                None => first = Some(l),
                Some(f) => assert!(Arc::ptr_eq(f, &l), "frame {frame}: laid out again"),
            }
        });
        out.textures_delta.clear();
    }
    assert_eq!(formula::cached_count(&ctx), 2);
}

#[test]
fn the_widget_is_labelled_sized_and_fits_its_space() {
    let mut natural = 0.0;
    let mut h = Harness::new_ui(|ui| {
        natural = formula::show(ui, catalogue::W_X0).rect.width();
    });
    h.run();
    drop(h);
    assert!(natural > 100.0);
    let label = plain(catalogue::W_X0);
    let mut width = 0.0;
    let narrow = natural * 0.8;
    let mut h = Harness::new_ui(|ui| {
        ui.set_max_width(narrow);
        ui.horizontal(|ui| {
            ui.set_max_width(narrow);
            width = formula::show(ui, catalogue::W_X0).rect.width();
        });
    });
    h.run();
    let node = h.get_by_label(&label);
    assert!(node.rect().width() > 0.0);
    drop(h);
    assert!(width <= narrow + 1.0, "scaled to fit: {width} in {narrow}");
    assert!(width > natural * 0.6, "not scaled below the floor: {width}");
}

/// Inline formulas in text: one widget labelled with the plain text of the whole, wrapped
/// between words at the width given, a formula never split; an unpaired `$` stays text.
#[test]
fn rich_text_typesets_inline_formulas_and_wraps_between_words() {
    let src =
        r"the weight $w_t = \frac{1}{2 \sigma_t^2}$ of the error at every $t$, for all the columns";
    let label = format!(
        "the weight {} of the error at every t, for all the columns",
        plain(r"w_t = \frac{1}{2 \sigma_t^2}")
    );
    let (mut wide, mut narrow) = (egui::Rect::NOTHING, egui::Rect::NOTHING);
    let mut h = Harness::new_ui(|ui| {
        wide = formula::rich(ui, src).rect;
        ui.scope(|ui| {
            ui.set_max_width(150.0);
            narrow = formula::rich(ui, src).rect;
        });
    });
    h.run();
    assert_eq!(h.get_all_by_label(&label).count(), 2);
    drop(h);
    // One line when wide (a fraction makes it taller than a text row), several when narrow.
    assert!(wide.height() < 60.0, "{wide:?}");
    assert!(narrow.width() <= 150.5, "{narrow:?}");
    assert!(
        narrow.height() > 2.0 * wide.height() - 10.0,
        "{narrow:?} vs {wide:?}"
    );
    let mut unpaired = None;
    Harness::new_ui(|ui| {
        let laid = formula::layout_rich(ui, "a $x_1$ costs $5", 1000.0);
        unpaired = Some((laid.plain, laid.size));
    })
    .run();
    let (text, size) = unpaired.expect("laid out");
    assert_eq!(text, format!("a {} costs $5", plain("x_1")));
    assert!(size.x > 50.0 && size.y > 10.0);
}

/// Every lesson caption's formulas parse with no unknown command and no unpaired brace.
#[test]
fn every_lesson_caption_typesets_cleanly() {
    for lesson in elbo_lab::app::lessons::lessons() {
        for line in &lesson.scene.caption {
            let parts: Vec<&str> = line.split('$').collect();
            assert!(parts.len() % 2 == 1, "unpaired $ in {line:?}");
            for math in parts.iter().skip(1).step_by(2) {
                let parsed = parse(math);
                assert!(
                    parsed.unknown.is_empty() && !parsed.unbalanced,
                    "{math:?} in {line:?}: unknown {:?}",
                    parsed.unknown
                );
            }
        }
    }
}

/// The catalogue in a grid, with live values beside a few labels, rendered at zoom 1 and 1.5
/// (pixels per point) in the two themes, 760 points wide, to PNGs in the temp dir, to look at (not a snapshot).
#[test]
fn render_the_catalogue() {
    for (zoom, dark) in [(1.0, true), (1.5, false)] {
        let mut h = Harness::builder()
            .with_size([760.0, 1850.0])
            .with_pixels_per_point(zoom)
            .wgpu()
            .build_ui(move |ui| {
                ui.ctx().set_theme(if dark {
                    egui::Theme::Dark
                } else {
                    egui::Theme::Light
                });
                elbo_lab::app::install_text_styles(ui.ctx());
                ui.set_width(730.0);
                ui.vertical(|ui| {
                    ui.horizontal(|ui| {
                        formula::show(ui, catalogue::label::ABAR);
                        ui.label("= 3.97e-5");
                        ui.add_space(30.0);
                        formula::show(ui, catalogue::label::NELBO);
                        ui.label("= 2.04 ± 0.39 nats");
                        ui.add_space(30.0);
                        formula::show(ui, catalogue::SNR);
                        ui.label("= 0.0421");
                    });
                    egui::Grid::new("catalogue")
                        .num_columns(2)
                        .spacing([16.0, 6.0])
                        .show(ui, |ui| {
                            for (name, src, _) in catalogue::ALL {
                                ui.label(*name);
                                formula::show(ui, src);
                                ui.end_row();
                            }
                        });
                });
            });
        h.run_steps(3);
        let image = h.render().expect("renders on the GPU (lavapipe in CI)");
        // Something was drawn in more than the background and one text colour.
        let mut colours = std::collections::HashSet::new();
        for p in image.pixels() {
            colours.insert(p.0);
        }
        assert!(colours.len() > 20, "{} colours", colours.len());
        let path = std::env::temp_dir().join(format!("elbo_lab_formulas_{zoom}.png"));
        image.save(&path).expect("the PNG is written");
        println!("catalogue rendered to {}", path.display());
    }
}
