// asl-validator ships no type declarations; this is the part of its API Finale's tests use.
declare module 'asl-validator' {
  interface Result {
    readonly isValid: boolean;
    errorsText(separator?: string): string;
  }
  export default function aslValidator(
    definition: unknown,
    options?: { checkArn?: boolean; checkPaths?: boolean },
  ): Result;
}
