// The device registry arrives with issue 3.
export {};
