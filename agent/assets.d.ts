// Text files the agent bundle embeds (esbuild's text loader).
declare module '*.sh' {
  const text: string;
  export default text;
}
