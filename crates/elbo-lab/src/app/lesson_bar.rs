//! The lesson bar: while a lesson runs, a strip under the menu with the step's title, its
//! two-line caption, "2 / 8", previous / next arrows (PageUp / PageDown, what presentation
//! clickers send) and an exit button.

use egui::{RichText, Ui};

use super::command::Command;
use super::lessons::lessons;
use super::palette::Palette;

/// Draw the bar of lesson step `index`; returns what was asked for.
pub fn ui(ui: &mut Ui, index: usize) -> Vec<Command> {
    let mut commands = Vec::new();
    let all = lessons();
    let Some(lesson) = all.get(index) else {
        return commands;
    };
    let count = all.len();
    ui.horizontal(|ui| {
        if ui
            .add_enabled(index > 0, egui::Button::new("< Previous"))
            .on_hover_text("The previous step of the lesson (PageUp)")
            .clicked()
        {
            commands.push(Command::PrevLesson);
        }
        ui.label(RichText::new(format!("{} / {count}", index + 1)).strong())
            .on_hover_text("This step and the number of steps of the lesson");
        if ui
            .add_enabled(index + 1 < count, egui::Button::new("Next >"))
            .on_hover_text("The next step of the lesson (PageDown)")
            .clicked()
        {
            commands.push(Command::NextLesson);
        }
        if ui
            .button("Exit lesson")
            .on_hover_text("Close this bar; the state of the step stays")
            .clicked()
        {
            commands.push(Command::ExitLesson);
        }
        ui.separator();
        ui.add(
            egui::Label::new(
                RichText::new(lesson.scene.title.as_deref().unwrap_or_default())
                    .strong()
                    .color(Palette::of_ui(ui).info),
            )
            .wrap(),
        );
    });
    // Captions carry their formulas between `$` signs, typeset inline.
    for line in &lesson.scene.caption {
        super::formula::rich(ui, line);
    }
    commands
}
