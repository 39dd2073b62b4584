//! A drawing backend that draws nothing and records where each text goes, measured in the embedded font
//! as the PNG backend places it: the figures' layout can then be checked (no two texts overlap, none
//! leaves the figure) on exactly the code that draws them.

use std::cell::RefCell;
use std::rc::Rc;

use plotters_backend::text_anchor::{HPos, VPos};
use plotters_backend::{
    BackendColor, BackendCoord, BackendStyle, BackendTextStyle, DrawingBackend, DrawingErrorKind,
    FontTransform,
};

use crate::plot::TextBox;

/// The recording backend.
pub struct Recorder {
    size: (u32, u32),
    boxes: Rc<RefCell<Vec<TextBox>>>,
}

impl Recorder {
    /// A recorder of a figure `size` pixels large.
    pub fn new(size: (u32, u32)) -> Self {
        Recorder {
            size,
            boxes: Rc::new(RefCell::new(Vec::new())),
        }
    }

    /// The boxes recorded so far (shared: they stay readable after the drawing area took the recorder).
    pub fn boxes(&self) -> Rc<RefCell<Vec<TextBox>>> {
        Rc::clone(&self.boxes)
    }
}

impl DrawingBackend for Recorder {
    type ErrorType = std::convert::Infallible;

    fn get_size(&self) -> (u32, u32) {
        self.size
    }

    fn ensure_prepared(&mut self) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        Ok(())
    }

    fn present(&mut self) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        Ok(())
    }

    fn draw_pixel(
        &mut self,
        _point: BackendCoord,
        _color: BackendColor,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        Ok(())
    }

    fn draw_line<S: BackendStyle>(
        &mut self,
        _from: BackendCoord,
        _to: BackendCoord,
        _style: &S,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        Ok(())
    }

    fn draw_rect<S: BackendStyle>(
        &mut self,
        _upper_left: BackendCoord,
        _bottom_right: BackendCoord,
        _style: &S,
        _fill: bool,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        Ok(())
    }

    fn draw_path<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        _path: I,
        _style: &S,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        Ok(())
    }

    fn draw_circle<S: BackendStyle>(
        &mut self,
        _center: BackendCoord,
        _radius: u32,
        _style: &S,
        _fill: bool,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        Ok(())
    }

    fn fill_polygon<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        _vert: I,
        _style: &S,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        Ok(())
    }

    fn draw_text<TStyle: BackendTextStyle>(
        &mut self,
        text: &str,
        style: &TStyle,
        pos: BackendCoord,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        if style.color().alpha == 0.0 || text.trim().is_empty() {
            return Ok(());
        }
        // The font was registered before drawing; an unmeasurable text is recorded as a point.
        let ((min_x, min_y), (max_x, max_y)) = style.layout_box(text).unwrap_or(((0, 0), (0, 0)));
        let (width, height) = (max_x - min_x, max_y - min_y);
        // The anchor offsets of plotters' own text placement (DrawingBackend::draw_text).
        let dx = match style.anchor().h_pos {
            HPos::Left => 0,
            HPos::Right => -width,
            HPos::Center => -width / 2,
        };
        let dy = match style.anchor().v_pos {
            VPos::Top => 0,
            VPos::Center => -height / 2,
            VPos::Bottom => -height,
        };
        let transform = style.transform();
        let corners = [(dx, dy), (dx + width, dy + height)].map(|(x, y)| {
            let (x, y) = rotate(&transform, x, y);
            (pos.0 + x, pos.1 + y)
        });
        self.boxes.borrow_mut().push(TextBox {
            text: text.to_string(),
            left: corners[0].0.min(corners[1].0),
            top: corners[0].1.min(corners[1].1),
            right: corners[0].0.max(corners[1].0),
            bottom: corners[0].1.max(corners[1].1),
        });
        Ok(())
    }
}

fn rotate(transform: &FontTransform, x: i32, y: i32) -> (i32, i32) {
    transform.transform(x, y)
}
