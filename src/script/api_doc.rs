//! Registration of native functions, with the one-line doc that `brrt api` prints.
//!
//! Every script-callable function goes through [`ModuleBuilder::func`], which registers it with
//! Rhai and records its doc in the same call, so the listing cannot drift from the engine.

use rhai::{FuncRegistration, Module, RhaiNativeFunc, Variant};
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
            .set_into_module(&mut self.module, f);
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
