//! Registration of native functions, with the one-line doc that `brrt api` prints.
//!
//! Every script-callable function goes through [`ModuleBuilder::func`], which registers it with
//! Rhai and records its doc in the same call, so the listing cannot drift from the engine.

use rhai::{
    Dynamic, FuncRegistration, Module, NativeCallContext, Position, RhaiFunc, RhaiNativeFunc,
    Shared, Variant,
};
use serde::Serialize;

/// One script-callable function.
#[derive(Debug, Clone, Serialize)]
pub struct FnDoc {
    /// `docker`, `docker::network`, or empty for global functions.
    pub module: String,
    pub name: &'static str,
    pub params: Vec<&'static str>,
    pub returns: &'static str,
    pub doc: &'static str,
}

impl FnDoc {
    pub fn qualified_name(&self) -> String {
        if self.module.is_empty() {
            self.name.to_string()
        } else {
            format!("{}::{}", self.module, self.name)
        }
    }

    pub fn signature(&self) -> String {
        format!(
            "{}({}) -> {}",
            self.qualified_name(),
            self.params.join(", "),
            self.returns
        )
    }
}

/// Wraps a native function so that its errors carry the position of the call.
///
/// Rhai fills in the call position for global functions, but not for functions called through a
/// module path (`fs::read(..)`), so without this a failed `fs::read` would be reported with no
/// line. The call context gives the position.
fn with_call_position<A: 'static, const N: usize, const X: bool, R, const F: bool, FUNC>(
    f: FUNC,
) -> RhaiFunc
where
    R: Variant + Clone,
    FUNC: RhaiNativeFunc<A, N, X, R, F> + Send + Sync + 'static,
{
    // The same purity and volatility `FuncRegistration::set_into_module` uses by default.
    let inner = f.into_rhai_function(true, false);
    let call = inner
        .get_native_fn()
        .expect("a Rust closure is a native function")
        .clone();
    let func: Shared<_> = Shared::new(
        move |ctx: Option<NativeCallContext>, args: &mut [&mut Dynamic]| {
            let pos = ctx
                .as_ref()
                .map_or(Position::NONE, NativeCallContext::call_position);
            call(ctx, args).map_err(|mut err| {
                if err.position().is_none() {
                    err.set_position(pos);
                }
                err
            })
        },
    );
    match inner {
        RhaiFunc::Method {
            is_pure,
            is_volatile,
            ..
        } => RhaiFunc::Method {
            func,
            has_context: true,
            is_pure,
            is_volatile,
        },
        other => RhaiFunc::Pure {
            func,
            has_context: true,
            is_pure: true,
            is_volatile: other.is_volatile(),
        },
    }
}

/// Builds one static module and records the docs of what it registers.
pub struct ModuleBuilder<'a> {
    path: String,
    module: Module,
    docs: &'a mut Vec<FnDoc>,
}

impl<'a> ModuleBuilder<'a> {
    pub fn new(path: impl Into<String>, docs: &'a mut Vec<FnDoc>) -> Self {
        ModuleBuilder {
            path: path.into(),
            module: Module::new(),
            docs,
        }
    }

    /// Registers `f` as `name(params…) -> returns`, documented by `doc`.
    /// `params` are written `name: Type`.
    pub fn func<A: 'static, const N: usize, const X: bool, R, const F: bool, FUNC>(
        &mut self,
        name: &'static str,
        params: &[&'static str],
        returns: &'static str,
        doc: &'static str,
        f: FUNC,
    ) -> &mut Self
    where
        R: Variant + Clone,
        FUNC: RhaiNativeFunc<A, N, X, R, F> + Send + Sync + 'static,
    {
        let mut info: Vec<&str> = params.to_vec();
        info.push(returns);
        FuncRegistration::new(name)
            .with_params_info(info)
            .with_comments([format!("/// {doc}")])
            .set_into_module_raw(&mut self.module, FUNC::param_types(), with_call_position(f));
        self.docs.push(FnDoc {
            module: self.path.clone(),
            name,
            params: params.to_vec(),
            returns,
            doc,
        });
        self
    }

    /// Builds a nested module (`docker::network`) with its own functions.
    pub fn sub(&mut self, name: &str, build: impl FnOnce(&mut ModuleBuilder<'_>)) -> &mut Self {
        let path = format!("{}::{name}", self.path);
        let mut child = ModuleBuilder::new(path, self.docs);
        build(&mut child);
        let module = child.module;
        self.module.set_sub_module(name, module);
        self
    }

    pub fn build(self) -> Module {
        self.module
    }
}
