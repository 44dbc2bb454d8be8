//! One case being run: its steps, the canary values it handed out, and every string the
//! destination gave back (scanned for those values when the case ends).

use crate::conformance::cases::{KEY_A, KEY_B};
use crate::conformance::drive::{Engine, Outcome};
use crate::conformance::{Case, Fixture, Step, Verdict, canary};
use crate::{
    Capabilities, Ctx, DestError, Destination, Plan, RemoteName, Routing, SecretBytes, SecretItem,
};

/// A scratch scope with [`KEY_A`] and [`KEY_B`] already written: where most cases start.
pub(crate) struct Scene<'a> {
    pub(crate) r: Routing,
    pub(crate) caps: Capabilities,
    pub(crate) items: Vec<SecretItem>,
    pub(crate) names: Vec<RemoteName>,
    pub(crate) eng: Engine<'a>,
}

/// A failing step ended the case (the step is already recorded).
#[derive(Debug)]
pub(crate) struct Stop;

/// What a case step returns.
pub(crate) type Res<T> = Result<T, Stop>;

/// The state of one case while it runs.
pub(crate) struct Run<'a> {
    pub(crate) fx: &'a dyn Fixture,
    pub(crate) d: &'a dyn Destination,
    pub(crate) ctx: Ctx,
    case: Case,
    canaries: Vec<String>,
    seen: Vec<String>,
    steps: Vec<Step>,
}

impl<'a> Run<'a> {
    pub(crate) fn new(d: &'a dyn Destination, fx: &'a dyn Fixture, case: Case) -> Self {
        Self {
            fx,
            d,
            ctx: Ctx::new("check", "vsync-plugin-check"),
            case,
            canaries: Vec::new(),
            seen: Vec::new(),
            steps: Vec::new(),
        }
    }

    /// A fresh text value, remembered so that any echo of it is caught.
    pub(crate) fn value(&mut self, tag: &str) -> SecretBytes {
        let v = canary::value(tag);
        self.canaries.push(v.clone());
        SecretBytes::from_str_value(&v)
    }

    /// A fresh value that is not UTF-8 (a canary followed by 0xff 0x00).
    pub(crate) fn binary_value(&mut self, tag: &str) -> SecretBytes {
        let mut v = self.value(tag).expose().to_vec();
        v.extend_from_slice(&[0xff, 0x00]);
        SecretBytes::new(v)
    }

    /// Items for `keys`, each with a fresh text value.
    pub(crate) fn items(&mut self, keys: &[&str], tag: &str) -> Vec<SecretItem> {
        keys.iter()
            .map(|k| SecretItem::plain(*k, self.value(tag)))
            .collect()
    }

    fn leaks(&self, text: &str) -> bool {
        self.canaries.iter().any(|c| text.contains(c.as_str()))
    }

    /// Records a step. A detail carrying a value turns it into a failure and is never echoed.
    pub(crate) fn step(&mut self, check: &str, verdict: Verdict, detail: impl Into<String>) {
        let mut detail = detail.into();
        let mut verdict = verdict;
        if self.leaks(&detail) {
            detail = "an error message contained a secret value".into();
            verdict = Verdict::Fail;
        }
        self.steps.push(Step {
            check: check.to_owned(),
            verdict,
            detail,
        });
    }

    pub(crate) fn ok(&mut self, check: &str, detail: impl Into<String>) {
        self.step(check, Verdict::Ok, detail);
    }

    pub(crate) fn skip(&mut self, check: &str, detail: impl Into<String>) {
        self.step(check, Verdict::Skip, detail);
    }

    /// Records a failing step; `return Err(run.fail(…))` ends the case.
    pub(crate) fn fail(&mut self, check: &str, detail: impl Into<String>) -> Stop {
        self.step(check, Verdict::Fail, detail);
        Stop
    }

    /// Remembers a string the destination returned, for the final scan.
    pub(crate) fn saw(&mut self, text: impl Into<String>) {
        self.seen.push(text.into());
    }

    pub(crate) fn saw_err(&mut self, e: &DestError) {
        self.saw(format!("{e} {e:?}"));
    }

    pub(crate) fn saw_plan(&mut self, p: &Plan) {
        self.saw(format!("{p:?}"));
        self.saw(serde_json::to_string(p).unwrap_or_default());
    }

    pub(crate) fn saw_outcomes(&mut self, out: &[Outcome]) {
        for o in out {
            self.saw(format!("{o:?}"));
            if let Err(e) = &o.result {
                self.saw_err(e);
            }
        }
    }

    /// The value of `r`, or a failing `check` step carrying the error.
    pub(crate) fn check<T>(&mut self, check: &str, r: Result<T, DestError>) -> Res<T> {
        r.map_err(|e| {
            self.saw_err(&e);
            self.fail(check, e.to_string())
        })
    }

    /// A fresh scratch scope from the fixture.
    pub(crate) async fn scope(&mut self) -> Res<(Routing, Capabilities)> {
        match self.fx.scope().await {
            Ok(r) => {
                let caps = self.d.capabilities(&r);
                self.saw(self.d.routing_summary(&r));
                Ok((r, caps))
            }
            Err(e) => Err(self.fail(self.case.name(), format!("no scratch scope: {e}"))),
        }
    }

    /// Remote names of `items`, or a failing `check`.
    pub(crate) fn mapped(
        &mut self,
        check: &str,
        r: &Routing,
        items: &[SecretItem],
    ) -> Res<Vec<RemoteName>> {
        let names = Engine::new(self.d, r, &self.ctx).map_all(items);
        self.check(check, names)
    }

    /// Plans and applies `items` as the case's starting state; a failure is reported as
    /// `<case>: first write`.
    pub(crate) async fn setup(&mut self, eng: &mut Engine<'_>, items: &[SecretItem]) -> Res<()> {
        let check = format!("{}: first write", self.case.name());
        let (plan, out) = match eng.sync(items, false).await {
            Ok(v) => v,
            Err(e) => {
                self.saw_err(&e);
                return Err(self.fail(&check, e.to_string()));
            }
        };
        self.saw_plan(&plan);
        self.saw_outcomes(&out);
        self.all_ok(&check, &out)
    }

    /// A fresh scope with both keys written (values tagged `tag`); `check` names a refused key.
    pub(crate) async fn written(&mut self, check: &str, tag: &str) -> Res<Scene<'a>> {
        let (r, caps) = self.scope().await?;
        let items = self.items(&[KEY_A, KEY_B], tag);
        let names = self.mapped(check, &r, &items)?;
        let mut eng = Engine::new(self.d, &r, &self.ctx);
        self.setup(&mut eng, &items).await?;
        Ok(Scene {
            r,
            caps,
            items,
            names,
            eng,
        })
    }

    /// A failing `check` naming the first outcome that failed, if one did.
    pub(crate) fn all_ok(&mut self, check: &str, out: &[Outcome]) -> Res<()> {
        match out
            .iter()
            .find_map(|o| o.result.as_ref().err().map(|e| (o, e)))
        {
            Some((o, e)) => {
                let who = o.key.clone().unwrap_or_else(|| o.name.0.clone());
                let detail = format!("{who}: {e}");
                Err(self.fail(check, detail))
            }
            None => Ok(()),
        }
    }

    /// The steps, with a final failure if any string the destination returned carried a value.
    pub(crate) fn finish(mut self) -> Vec<Step> {
        self.saw(format!("{:?}", self.d));
        if let Some(i) = self.seen.iter().position(|s| self.leaks(s)) {
            let what = self.seen[i].chars().take(24).collect::<String>();
            let what = if self.leaks(&what) {
                String::new()
            } else {
                what
            };
            self.steps.push(Step {
                check: format!("{}: no value in output", self.case.name()),
                verdict: Verdict::Fail,
                detail: format!(
                    "a string the destination returned (an error, a plan or a listing: {what}…) contained a secret value"
                ),
            });
        }
        self.steps
    }
}
