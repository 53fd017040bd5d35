// The HTTP API: the webhook route, open at the gateway because repository hosts cannot sign SigV4 (the
// function checks the HMAC), and the runs API of api/app.ts, every route IAM-authorized.

import { type RemovalPolicy, Validations } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import * as apigw from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpIamAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

interface ApiRoute {
  readonly method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** API Gateway syntax: `{param}`. */
  readonly path: string;
}

export const WEBHOOK_ROUTE: ApiRoute = { method: 'POST', path: '/webhooks/{source}' };

/** The routes of api/app.ts (a test keeps the two lists equal), each one gated by IAM at the gateway. */
export const API_ROUTES: readonly ApiRoute[] = [
  { method: 'GET', path: '/health' },
  { method: 'POST', path: '/runs' },
  { method: 'GET', path: '/runs' },
  { method: 'GET', path: '/runs/{run}' },
  { method: 'GET', path: '/runs/{run}/steps/{step}/log' },
  { method: 'POST', path: '/runs/{run}/stop' },
  { method: 'POST', path: '/runs/{run}/approve' },
  { method: 'GET', path: '/locks' },
  { method: 'DELETE', path: '/locks/{key}' },
  { method: 'GET', path: '/settings' },
  { method: 'PUT', path: '/settings' },
  // The value of PUT /variables/{name} is in the body, never the path: access logs keep no secret.
  { method: 'GET', path: '/variables' },
  { method: 'PUT', path: '/variables/{name}' },
  { method: 'DELETE', path: '/variables/{name}' },
  { method: 'GET', path: '/environments' },
];

export interface ApiThrottle {
  /** Steady requests per second, across all routes. */
  readonly rateLimit: number;
  readonly burstLimit: number;
}

interface FinaleApiProps {
  readonly webhook: lambda.IFunction;
  readonly api: lambda.IFunction;
  readonly throttle: ApiThrottle;
  readonly logRetention: logs.RetentionDays;
  readonly removalPolicy: RemovalPolicy;
}

/** Who called what, with the IAM caller and the integration's own error when there is one. */
const ACCESS_LOG_FIELDS = {
  requestId: '$context.requestId',
  time: '$context.requestTime',
  ip: '$context.identity.sourceIp',
  caller: '$context.identity.userArn',
  route: '$context.routeKey',
  status: '$context.status',
  latency: '$context.responseLatency',
  responseLength: '$context.responseLength',
  integrationError: '$context.integrationErrorMessage',
};

export class FinaleApi extends Construct {
  readonly httpApi: apigw.HttpApi;
  readonly stage: apigw.HttpStage;

  constructor(scope: Construct, id: string, props: FinaleApiProps) {
    super(scope, id);
    this.httpApi = new apigw.HttpApi(this, 'HttpApi', {
      description: 'Finale: repository webhooks and the runs API',
      createDefaultStage: false,
    });
    const accessLogs = new logs.LogGroup(this, 'AccessLogs', {
      retention: props.logRetention,
      removalPolicy: props.removalPolicy,
    });
    this.stage = new apigw.HttpStage(this, 'DefaultStage', {
      httpApi: this.httpApi,
      stageName: '$default',
      autoDeploy: true,
      // The webhook route is open to the internet: the throttle caps what a flood can cost.
      throttle: { rateLimit: props.throttle.rateLimit, burstLimit: props.throttle.burstLimit },
      accessLogSettings: {
        destination: new apigw.LogGroupLogDestination(accessLogs),
        format: AccessLogFormat.custom(JSON.stringify(ACCESS_LOG_FIELDS)),
      },
    });

    const webhookRoutes = this.httpApi.addRoutes({
      path: WEBHOOK_ROUTE.path,
      methods: [apigw.HttpMethod[WEBHOOK_ROUTE.method]],
      integration: new HttpLambdaIntegration('Webhook', props.webhook),
    });
    for (const route of webhookRoutes) {
      Validations.of(route).acknowledge({
        id: 'AwsSolutions-APIG4',
        reason:
          'Bitbucket Cloud, Bitbucket Data Center and GitHub cannot sign requests with SigV4 or send tokens ' +
          'an authorizer could check: the webhook function verifies the HMAC signature over the raw body ' +
          'in constant time and answers 401 before doing anything else.',
      });
    }

    const authorizer = new HttpIamAuthorizer();
    const integration = new HttpLambdaIntegration('Api', props.api);
    for (const route of API_ROUTES) {
      this.httpApi.addRoutes({
        path: route.path,
        methods: [apigw.HttpMethod[route.method]],
        integration,
        authorizer,
      });
    }
  }

  /** The base URL, ending in `/`. */
  get url(): string {
    return this.stage.url;
  }
}
