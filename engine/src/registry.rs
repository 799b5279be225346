//! The registry of element classes, by name.

use std::collections::HashMap;
use std::sync::Arc;

use crate::args::{ArgContext, Args};
use crate::element::{ConfigureCtx, Element, ElementClass, Threads};
use crate::ports::{FlowCode, PortCount, ProcessingCode};

type Create = fn(Args, &ConfigureCtx) -> Result<Box<dyn Element>, String>;

/// A registered class: its shape, parsed once, and its constructor.
#[derive(Clone)]
pub struct ClassSpec {
    pub name: &'static str,
    pub port_count: PortCount,
    pub processing: ProcessingCode,
    pub flow: FlowCode,
    /// How elements of the class run on several threads.
    pub threads: Threads,
    pub forwards: bool,
    create: Create,
}

impl ClassSpec {
    /// Builds an element of this class from its configuration string,
    /// with no router around it: names in the arguments (`AddressInfo`
    /// addresses, elements) do not resolve.
    pub fn create(&self, config: &str, ctx: &ConfigureCtx) -> Result<Box<dyn Element>, String> {
        (self.create)(Args::new(config), ctx)
    }

    /// Builds an element of this class from its configuration string,
    /// read in `args_ctx` (the router's names, as seen from the element).
    pub fn create_in(
        &self,
        config: &str,
        ctx: &ConfigureCtx,
        args_ctx: Arc<dyn ArgContext>,
    ) -> Result<Box<dyn Element>, String> {
        (self.create)(Args::with_context(config, args_ctx), ctx)
    }
}

impl std::fmt::Debug for ClassSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClassSpec")
            .field("name", &self.name)
            .finish()
    }
}

fn create<T: ElementClass>(mut args: Args, ctx: &ConfigureCtx) -> Result<Box<dyn Element>, String> {
    let element = T::configure(&mut args, ctx)?;
    args.complete().map_err(|e| e.to_string())?;
    Ok(Box::new(element))
}

/// Element classes by name. A router is built against a registry; users add
/// their own classes next to the library's.
#[derive(Debug, Default, Clone)]
pub struct Registry {
    classes: HashMap<&'static str, ClassSpec>,
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers class `T`, replacing any class of the same name.
    ///
    /// # Panics
    /// If `T`'s port count, processing or flow code is malformed: that is a
    /// bug in the element, found the first time it is registered.
    pub fn add<T: ElementClass>(&mut self) -> &mut Self {
        let spec = ClassSpec {
            name: T::CLASS,
            port_count: PortCount::parse(T::PORT_COUNT)
                .unwrap_or_else(|e| panic!("{}: {e}", T::CLASS)),
            processing: ProcessingCode::parse(T::PROCESSING)
                .unwrap_or_else(|e| panic!("{}: {e}", T::CLASS)),
            flow: FlowCode::parse(T::FLOW_CODE).unwrap_or_else(|e| panic!("{}: {e}", T::CLASS)),
            threads: T::THREADS,
            forwards: T::FORWARDS,
            create: create::<T>,
        };
        self.classes.insert(T::CLASS, spec);
        self
    }

    /// Registers `T` under another name too (Click's class aliases).
    pub fn alias<T: ElementClass>(&mut self, name: &'static str) -> &mut Self {
        self.add::<T>();
        if let Some(spec) = self.classes.get(T::CLASS).cloned() {
            self.classes.insert(name, ClassSpec { name, ..spec });
        }
        self
    }

    pub fn get(&self, name: &str) -> Option<&ClassSpec> {
        self.classes.get(name)
    }

    /// All class names, sorted.
    pub fn class_names(&self) -> Vec<&'static str> {
        let mut v: Vec<_> = self.classes.keys().copied().collect();
        v.sort_unstable();
        v
    }
}
