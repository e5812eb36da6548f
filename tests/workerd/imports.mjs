// The imports object of the `panics` fixtures for the Workers in workerd (tests/workerd.rs and the
// README's hand-written Worker, tests/readme.rs): the host functions, identity (no route here
// depends on them).
export const imports = {
  env: {
    host_callback: (x) => x,
    host_callback_nounwind: (x) => x,
  },
};
