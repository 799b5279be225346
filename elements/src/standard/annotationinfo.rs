//! AnnotationInfo: names for packet annotations.

use click_engine::args::{
    parse_annotation, parse_annotation_info, AnnoInfo, AnnotationInfoArg, Args, Defining,
};
use click_engine::{ConfigureCtx, Element, ElementClass, InitCtx};

/// `AnnotationInfo(NAME OFFSET [SIZE], ... [CHECK_OVERLAP ANNO...])`:
/// defines NAME as the annotation of SIZE bytes at byte OFFSET of the
/// annotation area, for the configuration strings of the elements in
/// this AnnotationInfo's compound and inside it (`Paint(1, MY_COLOR)`).
/// OFFSET may be a number or an annotation name (`MY_COLOR PAINT`);
/// SIZE, if given, must agree with a named OFFSET's size, and the bytes
/// must fit the 48-byte area. Click's own names (`PAINT`, `DST_IP`, ...)
/// cannot be redefined. Empty arguments and arguments starting with `#`
/// are ignored.
///
/// `CHECK_OVERLAP A B ...` makes initialization fail if any two of the
/// annotations named overlap (an annotation of unknown size counts as one
/// byte), as a check that a configuration's own names do not collide.
///
/// The engine reads the names when it builds the router (as Click
/// configures AnnotationInfo first); this element reports the errors.
///
/// * Ports: none.
/// * Handlers: none beyond the defaults.
#[derive(Debug)]
pub struct AnnotationInfo {
    /// CHECK_OVERLAP lists: each name and what it resolved to (`None`:
    /// not an annotation).
    checks: Vec<Vec<(String, Option<AnnoInfo>)>>,
}

impl ElementClass for AnnotationInfo {
    const CLASS: &'static str = "AnnotationInfo";
    const PORT_COUNT: &'static str = "0/0";

    fn configure(args: &mut Args, _ctx: &ConfigureCtx) -> Result<Self, String> {
        let (mut errors, mut overlaps) = (Vec::new(), Vec::new());
        let conf = args.rest();
        // Each argument sees the names defined before it, in this element
        // and in those before it, as Click reads them.
        let mut names = Defining::new(args.context());
        for arg in conf {
            match parse_annotation_info(&arg, &names) {
                Ok(AnnotationInfoArg::Define { name, anno }) => {
                    names.define_annotation(&name, anno)
                }
                Ok(AnnotationInfoArg::CheckOverlap(list)) => overlaps.push(list),
                Ok(AnnotationInfoArg::Skip) => {}
                Err(e) => errors.push(e),
            }
        }
        if !errors.is_empty() {
            return Err(errors.join("; "));
        }
        // CHECK_OVERLAP is checked at initialize, as in Click; its names
        // are resolved here, among those defined so far (Click resolves
        // them at initialize, when later AnnotationInfos have run too).
        let checks = overlaps
            .into_iter()
            .map(|list| {
                list.into_iter()
                    .map(|n| {
                        let anno = parse_annotation(&n, 0, &names).ok();
                        (n, anno)
                    })
                    .collect()
            })
            .collect();
        Ok(AnnotationInfo { checks })
    }
}

impl Element for AnnotationInfo {
    fn initialize(&mut self, _ctx: &mut InitCtx<'_>) -> Result<(), String> {
        let mut errors = Vec::new();
        for names in &self.checks {
            for (name, anno) in names {
                if anno.is_none() {
                    errors.push(format!("bad ANNO '{name}'"));
                }
            }
            for (i, (a, x)) in names.iter().enumerate() {
                for (b, y) in &names[i + 1..] {
                    let (Some(x), Some(y)) = (x, y) else { continue };
                    let (xs, ys) = (x.size.max(1), y.size.max(1));
                    if x.offset < y.offset + ys && y.offset < x.offset + xs {
                        errors.push(format!("annotations '{a}' and '{b}' conflict"));
                    }
                }
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors.join("; "))
        }
    }
}
